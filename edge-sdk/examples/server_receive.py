#!/usr/bin/env python3
"""aigw-server-receive.py: a minimal GPU-server program on the Python module `aigw`.
Registers with the controller, receives --units verified units, prints one line per
unit with the SHA-256 of its bytes (read in place through numpy), and exits.

  server_receive.py --controller 127.0.0.1:7700 --gpu-id 2 --key <64 hex> --units 10
"""
import argparse
import hashlib
import sys

import aigw


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--controller", required=True)
    ap.add_argument("--gpu-id", type=int, default=1)
    ap.add_argument("--key", required=True, help="64 hex digits: this server's key (aigwctl key derive --role gpu)")
    ap.add_argument("--model", default="openpose")
    ap.add_argument("--units", type=int, default=1)
    ap.add_argument("--timeout-ms", type=int, default=20000)
    ap.add_argument("--period-ms", type=int, default=1000, help="load report period: the controller's sync_period_ms")
    a = ap.parse_args()
    try:
        with aigw.Server(a.controller, gpu_id=a.gpu_id, key=bytes.fromhex(a.key), models=[a.model],
                         period_ms=a.period_ms) as server:
            print("listening", server.data_address, flush=True)
            got = 0
            for unit in server.units(timeout_ms=a.timeout_ms, count=a.units):
                with unit:  # released at the end of the block
                    digest = hashlib.sha256(unit.numpy()).hexdigest()
                    print(f"unit stream={unit.stream_id} seq={unit.unit_seq} model={unit.model} "
                          f"bytes={len(unit)} sha256={digest}", flush=True)
                got += 1
            print(server.counters(), flush=True)
    except aigw.Error as e:
        print(f"aigw error {e.code}: {e}", file=sys.stderr)
        return 69
    return 0 if got == a.units else 69


if __name__ == "__main__":
    sys.exit(main())
