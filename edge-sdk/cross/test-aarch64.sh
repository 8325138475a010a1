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
    -Dcomponents=edge-sdk -Dbenchmarks=disabled -Dtests=enabled
fi

# -Dcomponents=edge-sdk: the protocol library, the SDK and their tests, nothing else.
ninja -C "$build" -j "${JOBS:-2}"
file "$build/edge-sdk/libaigw-edge.so.$(cd "$root" && meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
meson test -C "$build" --no-rebuild --print-errorlogs
