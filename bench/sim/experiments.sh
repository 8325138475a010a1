#!/usr/bin/env bash
# Reproduces docs/experiments.md from a fresh build: the paper's Table 3 and Figs. 4-5
# and the extensions (gateway failure, 1,000+ streams, loss 1-10 %). Results go to
# build/experiments/<name>/ (summary.json, CSV, SVG). Live runs take about a minute each.
#
#   bench/sim/experiments.sh            all discrete-event experiments and Table 3
#   bench/sim/experiments.sh --live     also the live (scaled, real processes) runs
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sim="$root/build/sim/aigw-sim"
out="$root/build/experiments"
mkdir -p "$out"
live=0
[ "${1:-}" = "--live" ] && live=1

# Table 3: admission decision time at 100..500 simultaneous requests.
"$sim" admission "$root/sim/scenarios/paper-500.toml" --requests 100,200,300,400,500 \
  --algorithms lc,adga,iadga,balanced --repeat 50 --out "$out/table3"

# Figs. 4-5: load degree and DPR per gateway, 100..500 streams, without and with migration.
for n in 100 200 300 400 500; do
  for m in no-migration migration; do
    "$sim" run "$root/sim/scenarios/paper-$n.toml" --mode discrete --admission adga --"$m" \
      --out "$out/paper-$n-adga-$m" > "$out/paper-$n-adga-$m.txt"
  done
done

# Gateway failure mid-run, 10,000 and 100,000 streams, loss 1-10 %.
"$sim" run "$root/sim/scenarios/failure-300.toml" --out "$out/failure-300" > "$out/failure-300.txt"
"$sim" run "$root/sim/scenarios/large-1000.toml" --mode discrete --scale 1 --out "$out/large-1000" > "$out/large-1000.txt"
"$sim" run "$root/sim/scenarios/scale-10k.toml" --out "$out/scale-10k" > "$out/scale-10k.txt"
"$sim" run "$root/sim/scenarios/scale-100k.toml" --out "$out/scale-100k" > "$out/scale-100k.txt"
for l in 0.01 0.05 0.10; do
  "$sim" run "$root/sim/scenarios/lossy.toml" --mode discrete --scale 1 --loss "$l" --out "$out/lossy-discrete-$l" \
    > "$out/lossy-discrete-$l.txt"
done

if [ $live -eq 1 ]; then
  "$sim" run "$root/sim/scenarios/demo.toml" --out "$out/live-demo" > "$out/live-demo.txt"
  "$sim" run "$root/sim/scenarios/demo.toml" --no-migration --out "$out/live-demo-no-migration" \
    > "$out/live-demo-no-migration.txt"
  # Loss on the device -> gateway hop (the scenario's default hop), recovered by the
  # gateways' NACKs; then the gateway -> GPU hop at 5 %.
  for l in 0.01 0.05 0.10; do
    "$sim" run "$root/sim/scenarios/lossy.toml" --loss "$l" --out "$out/lossy-live-$l" > "$out/lossy-live-$l.txt"
  done
  "$sim" run "$root/sim/scenarios/lossy.toml" --loss 0.05 --hop gpu --out "$out/lossy-live-gpu-0.05" \
    > "$out/lossy-live-gpu-0.05.txt"
fi
echo "results in $out"
