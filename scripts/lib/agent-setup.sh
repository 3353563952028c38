# shellcheck shell=bash
# The install logic shared by scripts/setup.sh (connector) and scripts/tunneler-setup.sh
# (tunneler): sourced, never run. `sigil_agent_setup <connector|tunneler> "$@"` installs the
# agent, writes /etc/sigil/<kind>.conf (the unit's EnvironmentFile, no secrets), enrolls once into
# the unit's StateDirectory and enables sigil-<kind>.service; `--uninstall` removes all of it.
#
# The enrollment token is read from ENROLLMENT_TOKEN or ENROLLMENT_TOKEN_FILE, unset from the
# environment at once, and handed to `sigil-<kind> enroll` on standard input only (printf is a
# shell builtin: the token is never in any process's argv). A token file is deleted after a
# successful enrollment.
#
# Exit codes (as the agents'): 0 done, 1 bad configuration or installation, 2 enrollment refused
# (token used, expired, unknown or for another id), 3 controller unreachable or untrusted.

SIGIL_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

sigil_usage() {
  local kind="$1" id_var="$2" extra="$3"
  cat <<EOF
Usage: sudo CONTROLLER_ADDR=host:8443 ${id_var}=<id>${extra} \\
         ENROLLMENT_TOKEN=<token> CONTROLLER_CA_PATH=/path/to/ca.crt $SIGIL_SCRIPT [options]

Installs the Sigil ${kind} as sigil-${kind}.service: the agent in /opt/sigil/${kind}, the unit in
/etc/systemd/system, its settings in /etc/sigil/${kind}.conf; enrolls once (the identity lives in
the unit's StateDirectory, /var/lib/sigil-${kind}) and enables the service. Running it again
changes nothing.

Options:
  --from PATH      what to install: a Sigil checkout (default: the one holding this script; the
                   agent is deployed from it with pnpm deploy --prod), a directory holding a
                   deployed @sigil/${kind} (a release artefact), or a .tgz of one
  --root DIR       install into DIR instead of / (for tests): enrollment runs the agent directly
                   as the current user, \`systemctl --root=DIR enable\` links the unit, and the
                   steps that need a running systemd (daemon-reload, start, stop) are skipped and
                   printed as "skipped (--root): ..."
  --uninstall      disable and remove the service, its files, settings and identity
  -h, --help       this text

Settings (environment): CONTROLLER_ADDR, ${id_var}, ${extra:+CONNECTOR_ADDR, }CONTROLLER_CA_PATH, ENROLLMENT_TOKEN or
ENROLLMENT_TOKEN_FILE (deleted after enrollment), PRIVATE_IP (default: the first address of
\`hostname -I\`); optional, copied into /etc/sigil/${kind}.conf when set:
$(sigil_optional_vars "$kind" | tr '\n' ' ')
EOF
}

# The optional agent settings the script copies into the env file when they are set.
sigil_optional_vars() {
  printf '%s\n' CONTROLLER_SERVER_NAME AGENT_HTTP_ADDR HEARTBEAT_INTERVAL LOG_LEVEL \
    RECONNECT_BACKOFF_INITIAL RECONNECT_BACKOFF_MAX
  if [ "$1" = connector ]; then printf '%s\n' CONNECTOR_LISTEN_ADDR; fi
}

sigil_say() { printf '%s: %s\n' "$SIGIL_SCRIPT" "$*"; }
sigil_die() {
  local code="$1"
  shift
  printf '%s: error: %s\n' "$SIGIL_SCRIPT" "$*" >&2
  exit "$code"
}

# Runs systemctl, or under --root says what it skipped.
sigil_systemctl() {
  if [ -n "$SIGIL_ROOT" ]; then
    sigil_say "skipped (--root): systemctl $*"
  else
    systemctl "$@"
  fi
}

# sigil_put_file MODE SOURCE TARGET: installs SOURCE as TARGET (root-owned, MODE) unless TARGET
# already has that content and mode. Sets SIGIL_CHANGED=1 when it wrote.
sigil_put_file() {
  local mode="$1" source="$2" target="$3"
  if [ -f "$target" ] && [ ! -L "$target" ] && cmp -s "$source" "$target" &&
    [ "$(stat -c %a "$target")" = "${mode#0}" ]; then
    return 0
  fi
  install -D -m "$mode" -o 0 -g 0 "$source" "$target.sigil-new"
  mv -f "$target.sigil-new" "$target"
  sigil_say "wrote ${target#"$SIGIL_ROOT"}"
  SIGIL_CHANGED=1
}

# A digest of a directory tree's names, modes, link targets and contents (not times or owners).
sigil_tree_digest() {
  # pnpm deploy writes the time (node_modules/.modules.yaml, .pnpm-workspace-state-v1.json) and its
  # own output path (the NODE_PATH of the .bin shims, which the service never runs) into every
  # tree: left out, so the same release gives the same digest.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --exclude=./.sigil-install \
    --exclude=./node_modules/.modules.yaml --exclude=./node_modules/.pnpm-workspace-state-v1.json \
    --exclude=.bin -C "$1" -cf - . | sha256sum | cut -d' ' -f1
}

# Puts the agent to install into "$SIGIL_TMP/app", from a checkout, a deployed tree or a tarball.
sigil_stage_app() {
  local kind="$1" from="$2" name
  local app="$SIGIL_TMP/app"
  if [ -f "$from/pnpm-workspace.yaml" ]; then
    [ -f "$from/services/$kind/dist/main.js" ] ||
      sigil_die 1 "--from $from: services/$kind is not built; run \`pnpm install && pnpm build\` there first"
    command -v pnpm >/dev/null || sigil_die 1 "--from $from is a checkout, which needs pnpm on PATH to deploy the $kind"
    # --offline with the workspace lockfile (inject-workspace-packages: the non-legacy deploy): the
    # versions the checkout was installed with, from its store, never the network. (A --legacy
    # deploy resolves again, which offline needs registry metadata a frozen install never cached.)
    pnpm --dir "$from" --offline --config.inject-workspace-packages=true --filter "@sigil/$kind" deploy --prod "$app" >"$SIGIL_TMP/deploy.log" 2>&1 ||
      sigil_die 1 "pnpm deploy of @sigil/$kind from $from failed: $(tail -n 3 "$SIGIL_TMP/deploy.log")"
  elif [ -f "$from" ] && case "$from" in *.tgz | *.tar.gz) true ;; *) false ;; esac then
    mkdir "$app"
    tar -xzf "$from" -C "$app" || sigil_die 1 "--from $from: not a readable .tgz"
  elif [ -d "$from" ]; then
    cp -a "$from" "$app"
  else
    sigil_die 1 "--from $from: neither a Sigil checkout, a deployed @sigil/$kind directory nor a .tgz of one"
  fi
  # pnpm deploy leaves the Workload API addon unbuilt; a release artefact may carry it already.
  "$SIGIL_REPO_DIR/scripts/lib/build-native-addons.sh" "$app" 2>"$SIGIL_TMP/addon.log" ||
    sigil_die 1 "$(cat "$SIGIL_TMP/addon.log")"
  # pnpm's command shims and its install state name the staging directory: not part of the agent.
  find "$app" -path '*/node_modules/.bin' -prune -exec rm -rf {} +
  rm -f "$app/node_modules/.modules.yaml"
  name="$(node -p "require(process.argv[1]).name" "$app/package.json" 2>/dev/null || true)"
  [ "$name" = "@sigil/$kind" ] && [ -f "$app/bin/sigil-$kind.js" ] ||
    sigil_die 1 "--from $from: holds ${name:-no package.json}, not a deployed @sigil/$kind with bin/sigil-$kind.js"
}

# Installs "$SIGIL_TMP/app" as /opt/sigil/<kind> unless the same tree is there already.
sigil_install_app() {
  local kind="$1" target="$SIGIL_ROOT/opt/sigil/$kind" digest
  digest="$(sigil_tree_digest "$SIGIL_TMP/app")"
  if [ -f "$target/.sigil-install" ] && [ "$(cat "$target/.sigil-install")" = "$digest" ]; then
    return 0
  fi
  mkdir -p "$SIGIL_ROOT/opt/sigil"
  chmod 0755 "$SIGIL_ROOT/opt/sigil"
  rm -rf "$target.sigil-new"
  cp -a "$SIGIL_TMP/app" "$target.sigil-new"
  chown -R -h 0:0 "$target.sigil-new"
  chmod -R go-w "$target.sigil-new"
  chmod 0755 "$target.sigil-new"
  printf '%s\n' "$digest" >"$target.sigil-new/.sigil-install"
  chmod 0644 "$target.sigil-new/.sigil-install"
  rm -rf "$target"
  mv "$target.sigil-new" "$target"
  sigil_say "installed /opt/sigil/$kind"
  SIGIL_CHANGED=1
}

# The env file's text: the required settings, PRIVATE_IP and the optional ones that are set.
sigil_env_file() {
  local kind="$1" id_var="$2" var
  printf '# Written by %s. No secrets: the enrollment token never lands here.\n' "$SIGIL_SCRIPT"
  printf 'CONTROLLER_ADDR=%s\n' "$CONTROLLER_ADDR"
  printf '%s=%s\n' "$id_var" "${!id_var}"
  if [ "$kind" = tunneler ]; then printf 'CONNECTOR_ADDR=%s\n' "$CONNECTOR_ADDR"; fi
  printf 'CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt\n'
  # The unit allows no AF_NETLINK, so the agent cannot list interfaces: the address is found here.
  printf 'PRIVATE_IP=%s\n' "$SIGIL_PRIVATE_IP"
  while read -r var; do
    if [ -n "${!var:-}" ]; then printf '%s=%s\n' "$var" "${!var}"; fi
  done < <(sigil_optional_vars "$kind")
}

# Reads the token into SIGIL_TOKEN (not exported) and removes it from the environment.
sigil_read_token() {
  SIGIL_TOKEN=""
  SIGIL_TOKEN_FILE=""
  if [ -n "${ENROLLMENT_TOKEN:-}" ]; then
    SIGIL_TOKEN="$ENROLLMENT_TOKEN"
  elif [ -n "${ENROLLMENT_TOKEN_FILE:-}" ]; then
    [ -r "$ENROLLMENT_TOKEN_FILE" ] || sigil_die 1 "ENROLLMENT_TOKEN_FILE $ENROLLMENT_TOKEN_FILE is not a readable file"
    IFS= read -r SIGIL_TOKEN <"$ENROLLMENT_TOKEN_FILE" || true
    [ -n "$SIGIL_TOKEN" ] || sigil_die 1 "ENROLLMENT_TOKEN_FILE $ENROLLMENT_TOKEN_FILE is empty: its first line must be the token"
    SIGIL_TOKEN_FILE="$ENROLLMENT_TOKEN_FILE"
  fi
  unset ENROLLMENT_TOKEN ENROLLMENT_TOKEN_FILE
}

# Enrolls once: the token goes to `sigil-<kind> enroll` on standard input.
sigil_enroll() {
  local kind="$1" id_var="$2" state="$SIGIL_ROOT/var/lib/sigil-$kind" status=0
  if [ -s "$state/agent.json" ]; then
    sigil_say "already enrolled ($state/agent.json); not enrolling again"
    return 0
  fi
  [ -n "$SIGIL_TOKEN" ] ||
    sigil_die 1 "ENROLLMENT_TOKEN (or ENROLLMENT_TOKEN_FILE) is not set: create a one-time token for $kind ${!id_var} (POST /api/admin/tokens) and pass it"
  if [ -n "$SIGIL_ROOT" ]; then
    mkdir -p "$SIGIL_ROOT/var/lib"
    local settings
    mapfile -t settings < <(grep -v '^#' "$SIGIL_ROOT/etc/sigil/$kind.conf")
    printf '%s\n' "$SIGIL_TOKEN" | env "${settings[@]}" \
      CONTROLLER_CA_PATH="$SIGIL_ROOT/etc/sigil/controller-ca.crt" STATE_DIR="$state" \
      "$SIGIL_ROOT/usr/bin/sigil-$kind" enroll --enrollment-token - 2>"$SIGIL_TMP/enroll.err" >/dev/null ||
      status=$?
  else
    # The same dynamic user and StateDirectory as the unit, so the identity is the unit's.
    printf '%s\n' "$SIGIL_TOKEN" | systemd-run --quiet --wait --pipe --collect \
      --unit="sigil-$kind-enroll" -p DynamicUser=yes -p "StateDirectory=sigil-$kind" \
      -p StateDirectoryMode=0700 -p UMask=0077 -p "EnvironmentFile=/etc/sigil/$kind.conf" \
      "/usr/bin/sigil-$kind" enroll --enrollment-token - 2>"$SIGIL_TMP/enroll.err" >/dev/null ||
      status=$?
  fi
  local why
  why="$(grep -m1 '^error ' "$SIGIL_TMP/enroll.err" || tail -n 1 "$SIGIL_TMP/enroll.err")"
  case "$status" in
  0) ;;
  2) sigil_die 2 "the controller at $CONTROLLER_ADDR refused the enrollment token (used, expired, unknown, or created for another id or kind): create a new one for $kind ${!id_var} and run again. The agent said: $why" ;;
  3) sigil_die 3 "cannot reach or trust the controller at $CONTROLLER_ADDR (check the address, the firewall and CONTROLLER_CA_PATH). The agent said: $why" ;;
  *) sigil_die 1 "sigil-$kind enroll failed (exit $status): $why" ;;
  esac
  sigil_say "enrolled $kind ${!id_var}; the identity is in /var/lib/sigil-$kind"
  if [ -n "$SIGIL_TOKEN_FILE" ]; then
    rm -f "$SIGIL_TOKEN_FILE"
    sigil_say "deleted the used token file $SIGIL_TOKEN_FILE"
  fi
  SIGIL_CHANGED=1
}

sigil_install() {
  local kind="$1" id_var="$2" from="$3" var unit="sigil-$kind.service"
  local required=(CONTROLLER_ADDR "$id_var" CONTROLLER_CA_PATH)
  if [ "$kind" = tunneler ]; then required+=(CONNECTOR_ADDR); fi
  for var in "${required[@]}"; do
    [ -n "${!var:-}" ] || sigil_die 1 "$var is not set (run with --help for every setting)"
  done
  [ -r "$CONTROLLER_CA_PATH" ] && grep -q 'BEGIN CERTIFICATE' "$CONTROLLER_CA_PATH" ||
    sigil_die 1 "CONTROLLER_CA_PATH $CONTROLLER_CA_PATH is not a readable PEM certificate (the controller's bootstrap-ca.crt)"
  command -v node >/dev/null || sigil_die 1 "node (20 or later) is not on PATH: install Node.js first"
  sigil_read_token
  SIGIL_PRIVATE_IP="${PRIVATE_IP:-$(hostname -I 2>/dev/null | awk '{print $1}')}"
  [ -n "$SIGIL_PRIVATE_IP" ] || sigil_die 1 "PRIVATE_IP is not set and no address was found (hostname -I): set it"

  sigil_stage_app "$kind" "$from"
  sigil_install_app "$kind"
  if [ "$(readlink "$SIGIL_ROOT/usr/bin/sigil-$kind" 2>/dev/null)" != "../../opt/sigil/$kind/bin/sigil-$kind.js" ]; then
    mkdir -p "$SIGIL_ROOT/usr/bin"
    ln -sfn "../../opt/sigil/$kind/bin/sigil-$kind.js" "$SIGIL_ROOT/usr/bin/sigil-$kind"
    sigil_say "linked /usr/bin/sigil-$kind"
    SIGIL_CHANGED=1
  fi
  local changed_before="$SIGIL_CHANGED"
  SIGIL_CHANGED=0
  sigil_put_file 0644 "$SIGIL_REPO_DIR/deploy/systemd/$unit" "$SIGIL_ROOT/etc/systemd/system/$unit"
  if [ "$SIGIL_CHANGED" = 1 ]; then
    sigil_systemctl daemon-reload
  else
    SIGIL_CHANGED="$changed_before"
  fi
  install -d -m 0755 -o 0 -g 0 "$SIGIL_ROOT/etc/sigil"
  sigil_put_file 0644 "$CONTROLLER_CA_PATH" "$SIGIL_ROOT/etc/sigil/controller-ca.crt"
  sigil_env_file "$kind" "$id_var" >"$SIGIL_TMP/$kind.conf"
  sigil_put_file 0644 "$SIGIL_TMP/$kind.conf" "$SIGIL_ROOT/etc/sigil/$kind.conf"

  sigil_enroll "$kind" "$id_var"

  if [ -n "$SIGIL_ROOT" ]; then
    [ -e "$SIGIL_ROOT/etc/systemd/system/multi-user.target.wants/$unit" ] ||
      systemctl --root="$SIGIL_ROOT" --quiet enable "$unit"
    sigil_systemctl start "$unit"
  elif ! systemctl --quiet is-enabled "$unit" 2>/dev/null || ! systemctl --quiet is-active "$unit"; then
    systemctl --quiet enable --now "$unit"
    SIGIL_CHANGED=1
  fi
  if [ "$SIGIL_CHANGED" = 1 ]; then
    sigil_say "sigil-$kind.service is installed and enabled"
  else
    sigil_say "sigil-$kind.service is installed and enabled; nothing changed"
  fi
}

sigil_uninstall() {
  local kind="$1" other unit="sigil-$kind.service"
  if [ -n "$SIGIL_ROOT" ]; then
    sigil_systemctl stop "$unit"
    [ ! -e "$SIGIL_ROOT/etc/systemd/system/$unit" ] || systemctl --root="$SIGIL_ROOT" --quiet disable "$unit"
  elif [ -e "/etc/systemd/system/$unit" ]; then
    systemctl --quiet disable --now "$unit"
  fi
  rm -rf "$SIGIL_ROOT/etc/systemd/system/$unit" "$SIGIL_ROOT/etc/sigil/$kind.conf" \
    "$SIGIL_ROOT/usr/bin/sigil-$kind" "$SIGIL_ROOT/opt/sigil/$kind" \
    "$SIGIL_ROOT/var/lib/sigil-$kind" "$SIGIL_ROOT/var/lib/private/sigil-$kind"
  [ -n "$SIGIL_ROOT" ] || systemctl daemon-reload
  # The bootstrap CA is shared with the other agent when both run on this host.
  other=connector
  if [ "$kind" = connector ]; then other=tunneler; fi
  [ -e "$SIGIL_ROOT/etc/sigil/$other.conf" ] || rm -f "$SIGIL_ROOT/etc/sigil/controller-ca.crt"
  rmdir "$SIGIL_ROOT/etc/sigil" "$SIGIL_ROOT/opt/sigil" 2>/dev/null || true
  sigil_say "removed sigil-$kind.service, its files and its identity (revoke $kind in the controller if it is not coming back)"
}

sigil_agent_setup() {
  local kind="$1" id_var extra=""
  shift
  SIGIL_SCRIPT="$(basename "$0")"
  id_var=CONNECTOR_ID
  if [ "$kind" = tunneler ]; then
    id_var=TUNNELER_ID
    extra=" CONNECTOR_ADDR=<connector-ip>:9443"
  fi
  local from="$SIGIL_REPO_DIR" uninstall=0
  SIGIL_ROOT=""
  while [ "$#" -gt 0 ]; do
    case "$1" in
    --root)
      [ -n "${2:-}" ] || sigil_die 1 "--root needs a directory"
      mkdir -p "$2"
      SIGIL_ROOT="$(cd "$2" && pwd)"
      shift 2
      ;;
    --from)
      [ -n "${2:-}" ] || sigil_die 1 "--from needs a path"
      from="$2"
      shift 2
      ;;
    --uninstall)
      uninstall=1
      shift
      ;;
    -h | --help)
      sigil_usage "$kind" "$id_var" "$extra"
      return 0
      ;;
    *) sigil_die 1 "unknown option $1 (see --help)" ;;
    esac
  done
  [ -n "$SIGIL_ROOT" ] || [ "$(id -u)" = 0 ] || sigil_die 1 "run as root (sudo), or give --root DIR"
  [ -n "$SIGIL_ROOT" ] || command -v systemctl >/dev/null ||
    sigil_die 1 "systemctl not found: this script installs a systemd service"
  SIGIL_TMP="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the variable is the script's own
  trap "rm -rf '$SIGIL_TMP'" EXIT
  SIGIL_CHANGED=0
  umask 0022
  if [ "$uninstall" = 1 ]; then
    sigil_uninstall "$kind"
  else
    sigil_install "$kind" "$id_var" "$from"
  fi
}
