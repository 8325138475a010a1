#!/usr/bin/python3
"""Python send of a 672 KB numpy array against the C API, in one run, through a real
controller and gateway (the server SDK's C example as the GPU server). Each side sends
--units units per round, each once the previous one has left; only the send call is
timed, and throughput is the unit size over the median call. Rounds alternate C / Python / Python-with-a-copy so drift hits all alike.
Prints per-round figures and the ratios of the medians; exits 1 when Python without a
copy is below --min-ratio of the C API.

  build/bench/edge-sdk/python_send_bench.py   (run from the repository root; see
  docs/PERFORMANCE.md for the exact command)

The third variant (arr.tobytes() before send) measures what one extra copy of the array
would cost a binding that made it (the array is hot in cache, so this is a lower bound)."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-ratio", type=float, default=0.8)
    a = ap.parse_args()
    b = a.build
    os.environ.setdefault("AIGW_CONTROLLER", os.path.join(b, "controller", "aigw-controller"))
    os.environ.setdefault("AIGW_GATEWAY", os.path.join(b, "gateway", "aigw-gateway"))
    os.environ.setdefault("AIGW_IMPAIR", os.path.join(b, "sim", "aigw-impair"))
    sys.path[:0] = [os.path.join(b, "edge-sdk", "python"), os.path.join(ROOT, "tests", "edge-sdk", "python")]
    import numpy as np

    import aigw
    from cluster import SYNC_MS, Cluster, node_key

    unit_bytes = 672 * 1024
    fragments = (unit_bytes + 4 + 727) // 728
    arr = (np.arange(unit_bytes, dtype=np.uint64) * 131 % 256).astype(np.uint8)

    def python_round(c, device_id, copy):
        with aigw.Device(c.controller, device_id=device_id, key=node_key("device", device_id), log_level="warn") as dev:
            sid = dev.open_stream(unit_bytes=unit_bytes, period_ms=100, model="bench", pace_bytes_per_s=2e8)["stream_id"]
            calls = []
            for i in range(a.units):
                deadline = time.monotonic() + 2
                while i and dev.stream_stats(sid)["fragments_sent"] < i * fragments and time.monotonic() < deadline:
                    time.sleep(0.0001)  # as the C side polls
                t0 = time.perf_counter()
                dev.send(sid, arr.tobytes() if copy else arr)
                calls.append(time.perf_counter() - t0)
            return calls

    def c_round(c, device_id):
        out = subprocess.run([os.path.join(b, "bench", "edge-sdk", "send_call_bench"), "--controller", c.controller,
                              "--key", node_key("device", device_id).hex(), "--device-id", str(device_id), "--units", str(a.units)],
                             capture_output=True, text=True, timeout=120, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if r["units"] != a.units:
            raise RuntimeError(f"the C side sent {r['units']} of {a.units} units")
        return r["calls"]

    results = {"c": [], "python": [], "python_copy": []}
    # A port far above what loopback carries: admission must not refuse the next round.
    with Cluster(capacity_gbps=100) as c:
        server = subprocess.Popen([os.path.join(b, "edge-sdk", "examples", "aigw-server-receive"), "--controller",
                                   c.controller, "--gpu-id", "1", "--key", node_key("gpu", 1).hex(), "--model", "bench", "--units", "1000000",
                                   "--timeout-ms", "60000", "--period-ms", str(SYNC_MS)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not c.wait_gpus(1):
                raise RuntimeError("the GPU server did not register")
            device_id = 100
            for r in range(a.rounds):
                for kind in ("c", "python", "python_copy"):
                    device_id += 1
                    v = c_round(c, device_id) if kind == "c" else python_round(c, device_id, kind == "python_copy")
                    results[kind].append(v)
                print(f"round {r}: " + ", ".join(
                    f"{k} {unit_bytes / statistics.median(v[-1]) / 1e9:.2f} GB/s" for k, v in results.items()),
                      flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
    # Throughput of the median call over every round: a call the scheduler preempted (the
    # machine is shared) moves a median little, a mean a lot.
    med = {k: unit_bytes / statistics.median([t for r in v for t in r]) for k, v in results.items()}
    ratio = med["python"] / med["c"]
    print(json.dumps({
        "unit_bytes": unit_bytes, "units_per_round": a.units, "rounds": a.rounds,
        "c_gbytes_per_s": round(med["c"] / 1e9, 3), "python_gbytes_per_s": round(med["python"] / 1e9, 3),
        "python_copy_gbytes_per_s": round(med["python_copy"] / 1e9, 3),
        "ratio_python_to_c": round(ratio, 3), "ratio_python_copy_to_c": round(med["python_copy"] / med["c"], 3),
    }))
    return 0 if ratio >= a.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
