#!/usr/bin/env bash
# Builds the native addons of a deployed Sigil tree (the output of `pnpm deploy`), which pnpm
# deploy leaves unbuilt: the install scripts of workspace packages it copies in do not match
# onlyBuiltDependencies. Today that is @sigil/workload-api's SO_PEERCRED addon (node-gyp; needs
# python3, make and a C compiler). A tree without that package, or whose addon is built, is left
# as it is. Only the addon is kept: node-gyp's Makefiles and objects name the build directory.
#   scripts/lib/build-native-addons.sh DIR
set -euo pipefail

tree="${1:?usage: build-native-addons.sh DIR (a deployed @sigil package)}"
dir="$(node -p "require('path').dirname(require.resolve('@sigil/workload-api/package.json', { paths: [process.argv[1]] }))" "$tree" 2>/dev/null)" || exit 0
addon="$dir/build/Release/peer_credentials.node"
[ -f "$addon" ] && exit 0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! (cd "$dir" && npm run --silent install) >"$log" 2>&1; then
  echo "building the Workload API addon of @sigil/workload-api in $dir failed (needs python3, make and g++): $(tail -n 3 "$log")" >&2
  exit 1
fi
kept="$(mktemp)"
mv "$addon" "$kept"
rm -rf "$dir/build"
mkdir -p "$dir/build/Release"
mv "$kept" "$addon"
chmod 0755 "$addon"
