#!/usr/bin/env bash
# Installs the Sigil tunneler as sigil-tunneler.service (see --help and docs/operations.md,
# "Installing on a VM with systemd"):
#
#   sudo CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ADDR=10.0.0.7:9443 TUNNELER_ID=tunneler-local-01 \
#     ENROLLMENT_TOKEN=<token> CONTROLLER_CA_PATH=/path/to/ca.crt bash scripts/tunneler-setup.sh
set -euo pipefail
# shellcheck source=lib/agent-setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/agent-setup.sh"
sigil_agent_setup tunneler "$@"
