#!/usr/bin/env bash
# Installs the Sigil connector as sigil-connector.service (see --help and docs/operations.md,
# "Installing on a VM with systemd"):
#
#   sudo CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ID=connector-local-01 ENROLLMENT_TOKEN=<token> \
#     CONTROLLER_CA_PATH=/path/to/ca.crt bash scripts/setup.sh
set -euo pipefail
# shellcheck source=lib/agent-setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/agent-setup.sh"
sigil_agent_setup connector "$@"
