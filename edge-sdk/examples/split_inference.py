#!/usr/bin/env python3
"""Split inference through aigw with PyTorch: a torchvision ResNet-18 (built with a fixed
seed, no downloaded weights) is cut where the edge SDK's split-point planner says; the
device half runs the first layers on each input and sends the feature tensor as one unit
through the controller and a gateway; the server half receives it verified, without a
copy, and runs the rest. See docs/split-inference.md.

  split_inference.py --controller 127.0.0.1:7700 --key <64 hex> [--inputs 8]
                     [--split-layer K] [--uplink-mbps 40] [--target-ms 100]

prints the plan, then one line per input with the top class both ways, and exits 0 when
every output through the network equals the local run bit for bit.
"""
import argparse
import sys
import threading
import time

import numpy as np
import torch
import torchvision

import aigw

# Cost model of the planner's profile: layer time = FLOPs / rate. A Jetson Nano's CPU
# GPU (effective fp32) and a server GPU, in FLOP/s; deterministic, so the cut is the same on every machine.
DEVICE_FLOPS = 50e9
SERVER_FLOPS = 1e12
INPUT_SHAPE = (1, 3, 224, 224)


def build_model(seed=0, num_classes=10):
    """ResNet-18 with seeded random weights, in eval mode, as its sequence of stages."""
    torch.manual_seed(seed)
    m = torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()
    stages = [m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4, m.avgpool,
              torch.nn.Flatten(1), m.fc]
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]
    return m, stages, names


def inputs(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(INPUT_SHAPE, generator=g) for _ in range(n)]


def profile(stages, x):
    """(edge_ms, cloud_ms, output_bytes, output_shape) per stage, from shapes alone."""
    counts = []

    def conv_hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        counts[-1] += 2 * out.numel() * k

    def linear_hook(mod, inp, out):
        counts[-1] += 2 * mod.in_features * mod.out_features

    hooks = []
    for s in stages:
        for sub in s.modules():
            if isinstance(sub, torch.nn.Conv2d):
                hooks.append(sub.register_forward_hook(conv_hook))
            elif isinstance(sub, torch.nn.Linear):
                hooks.append(sub.register_forward_hook(linear_hook))
    rows = []
    with torch.no_grad():
        for s in stages:
            counts.append(0)
            x = s(x)
            f = max(counts[-1], x.numel())  # element-wise stages: one op per output
            rows.append((1e3 * f / DEVICE_FLOPS, 1e3 * f / SERVER_FLOPS, x.numel() * x.element_size(), tuple(x.shape)))
    for h in hooks:
        h.remove()
    return rows


def plan(stages, uplink_mbps=40, target_ms=100, objective="min_device_time"):
    """The planner's cut: layers 1..k on the device. Returns (k, plan dict, profile)."""
    rows = profile(stages, torch.zeros(INPUT_SHAPE))
    input_bytes = int(np.prod(INPUT_SHAPE)) * 4
    p = aigw.plan_split([(e, c, d) for e, c, d, _ in rows], input_bytes, uplink_mbps * 1e6, target_ms, objective)
    return p["split_layer"], p, rows


def run(stages, x, lo, hi):
    with torch.no_grad():
        for s in stages[lo:hi]:
            x = s(x)
    return x


class ServerHalf(threading.Thread):
    """The GPU server: receives feature tensors, runs stages k..N on each."""

    def __init__(self, server, stages, k, shape, count, timeout_ms=20000):
        super().__init__(daemon=True)
        self.server, self.stages, self.k, self.shape, self.count = server, stages, k, shape, count
        self.timeout_ms = timeout_ms
        self.outputs = {}
        self.error = None

    def run(self):
        try:
            for unit in self.server.units(timeout_ms=self.timeout_ms, count=self.count):
                with unit:
                    # A tensor over the unit's own buffer: no copy between the socket and the model.
                    feat = torch.frombuffer(unit, dtype=torch.float32).reshape(self.shape)
                    self.outputs[unit.unit_seq] = run(self.stages, feat, self.k, len(self.stages))
        except Exception as e:  # reported by the caller
            self.error = e


def split_run(controller, key, xs, stages, k, device_options=None, gpu_id=1, device_id=1, period_ms=100,
              server_period_ms=100):
    """Runs xs through the network split at k. Returns the outputs in input order."""
    shape = profile(stages, torch.zeros(INPUT_SHAPE))[k - 1][3]
    unit_bytes = int(np.prod(shape)) * 4
    # This demo plays both ends, so it derives both nodes' keys from the cluster's master;
    # a real device and GPU server are each given only their own (aigwctl key derive).
    server_key, device_key = aigw.node_key(key, "gpu", gpu_id), aigw.node_key(key, "device", device_id)
    with aigw.Server(controller, gpu_id=gpu_id, key=server_key, models=["resnet18"], period_ms=server_period_ms) as srv:
        with aigw.Device(controller, device_id=device_id, key=device_key, **(device_options or {})) as dev:
            info = dev.open_stream(unit_bytes=unit_bytes, period_ms=period_ms, model="resnet18")
            half = ServerHalf(srv, stages, k, shape, len(xs))
            half.start()
            start = time.monotonic()
            for i, x in enumerate(xs):
                feat = run(stages, x, 0, k).contiguous()
                # One unit per period, as the stream was admitted: the device keeps the
                # last few units for NACKs, so a burst would push out units still in repair.
                time.sleep(max(0.0, start + i * period_ms / 1e3 - time.monotonic()))
                dev.send(info["stream_id"], feat.numpy())  # the tensor's memory, read in place
            half.join(timeout=60)
            if half.is_alive():
                raise RuntimeError("server half did not finish")
            if half.error is not None:
                raise half.error
            first = info["first_unit_seq"]
            return [half.outputs.get(first + i) for i in range(len(xs))], srv.counters(), dev.stream_stats(
                info["stream_id"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--controller", required=True)
    ap.add_argument("--key", required=True, help="64 hex digits: the demo cluster's master key")
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--split-layer", type=int, default=0, help="override the planner's cut (1..N-1)")
    ap.add_argument("--uplink-mbps", type=float, default=40)
    ap.add_argument("--target-ms", type=float, default=100)
    a = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    model, stages, names = build_model()
    k, p, rows = plan(stages, a.uplink_mbps, a.target_ms)
    if a.split_layer:
        k = a.split_layer
    print(f"split after layer {k} ({names[k - 1]}): {rows[k - 1][2]} bytes per unit, plan {p}")
    xs = inputs(a.inputs)
    local = [run(stages, x, 0, len(stages)) for x in xs]
    remote, counters, _ = split_run(a.controller, bytes.fromhex(a.key), xs, stages, k)
    same = all(r is not None and torch.equal(r, l) for r, l in zip(remote, local))
    for i, (r, l) in enumerate(zip(remote, local)):
        print(f"input {i}: local class {int(l.argmax())}, split class {int(r.argmax()) if r is not None else None}")
    print("bit-identical" if same else "DIFFERENT", counters)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
