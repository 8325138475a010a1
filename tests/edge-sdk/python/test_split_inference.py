"""Split inference with PyTorch through the real controller and gateway
(edge-sdk/examples/split_inference.py): a seeded torchvision ResNet-18 cut where the
split-point planner says; the device half's feature tensors travel as units, the server
half runs the rest. The outputs must equal the whole model run locally, bit for bit,
with no loss and with 5 % seeded loss on the device -> gateway hop (aigw-impair)."""

import os
import sys
import unittest

import torch

from cluster import KEY, Cluster

sys.path.insert(0, os.path.join(os.environ.get("AIGW_SOURCE_ROOT", "../../.."), "edge-sdk", "examples"))
import split_inference as si  # noqa: E402

INPUTS = 8


class SplitInference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.use_deterministic_algorithms(True)
        cls.model, cls.stages, cls.names = si.build_model(seed=0)
        cls.k, cls.plan, cls.rows = si.plan(cls.stages)
        cls.xs = si.inputs(INPUTS, seed=1)
        with torch.no_grad():
            cls.local = [cls.model(x) for x in cls.xs]  # the whole model's own forward()

    def test_planner_picks_a_real_cut(self):
        # 40 Mbit/s, 100 ms, least device time: raw input (602 KB) is too slow to send,
        # running everything on the device costs the most device time: layer3 it is.
        self.assertEqual(self.names[self.k - 1], "layer3", self.plan)
        self.assertTrue(0 < self.k < len(self.stages))
        self.assertLessEqual(self.plan["latency_ms"], 100)
        self.assertEqual(self.plan["transfer_bytes"], 256 * 14 * 14 * 4)

    def check(self, loss, seed, device_id, gpu_id):
        with Cluster(loss=loss, seed=seed) as c:
            outs, counters, stats = si.split_run(c.controller, KEY, self.xs, self.stages, self.k,
                                                 device_options=c.device_options(), gpu_id=gpu_id,
                                                 device_id=device_id)
            # Checked inside the cluster's block: on a failure its logs are kept.
            for i, (r, l) in enumerate(zip(outs, self.local)):
                self.assertIsNotNone(r, f"input {i} never arrived: {counters} {stats}")
                self.assertTrue(torch.equal(r, l), f"input {i}: {r} != {l}")
            self.assertEqual(counters["units_verified"], INPUTS)
            self.assertEqual(counters["units_corrupt"], 0)
        return counters, stats

    def test_bit_identical_without_loss(self):
        _, stats = self.check(0.0, 7, 31, 1)
        self.assertEqual(stats["fragments_resent"], 0)

    def test_bit_identical_with_5_percent_loss(self):
        counters, stats = self.check(0.05, 7, 32, 2)
        # The loss was real and repaired: the gateway NACKed, the device resent.
        self.assertGreater(stats["nacks_received"], 0, stats)
        self.assertGreater(stats["fragments_resent"], 0, stats)


if __name__ == "__main__":
    unittest.main(verbosity=2)
