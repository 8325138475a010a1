#!/usr/bin/env bash
# Cross-builds the edge SDK for aarch64 and runs its tests under qemu-aarch64.
#
#   edge-sdk/cross/test-aarch64.sh [build-dir]     (default: build-aarch64)
#
# Needs crossbuild-essential-arm64, qemu-user and the arm64 -dev packages listed in
# docs/sdk.md ("Cross build for aarch64"); it installs nothing itself.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build-aarch64}

for tool in aarch64-linux-gnu-g++ aarch64-linux-gnu-pkg-config qemu-aarch64; do
  if ! command -v "$tool" >/dev/null; then
    echo "missing $tool: see docs/sdk.md, 'Cross build for aarch64'" >&2
    exit 69
  fi
done

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --cross-file "$root/edge-sdk/cross/aarch64-linux-gnu.ini" \
    -Ddpdk=disabled -Dbenchmarks=disabled -Dtests=enabled
fi

# Only the SDK, the protocol library under it, and the SDK's tests.
targets=$(cd "$build" && meson introspect --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    f = t["filename"][0]
    if os.sep + "edge-sdk" + os.sep in f:
        print(os.path.relpath(f))')
# shellcheck disable=SC2086
ninja -C "$build" -j "${JOBS:-2}" $targets
file "$build/edge-sdk/libaigw-edge.so.$(cd "$root" && meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
meson test -C "$build" --no-rebuild --suite edge-sdk --print-errorlogs
