"""The Python module `aigw` against the real controller and gateway: a Device sends
numpy arrays, bytes and memoryviews; a Server receives them verified and hands them
over as buffers (memoryview, numpy) over the library's own memory; errors carry the
library's codes; encrypted units are opened; units the application holds raise the
load the server reports to the controller."""

import hashlib
import os
import sys
import unittest

import numpy as np

import aigw
from cluster import KEY, Cluster, free_port, node_key

UNIT = 64 * 1024


def payload(seq, n=UNIT):
    return np.random.default_rng(1000 + seq).integers(0, 256, size=n, dtype=np.uint8)


class ErrorsAndLifecycle(unittest.TestCase):
    def test_error_carries_code(self):
        with self.assertRaises(aigw.Error) as cm:
            aigw.Server("127.0.0.1:1", gpu_id=0, key=KEY, models=["m"])
        self.assertEqual(cm.exception.code, aigw.ERR_INVALID_ARG)
        self.assertIn("invalid argument", str(cm.exception))
        with self.assertRaises(aigw.Error) as cm:
            aigw.Device("not an address", device_id=1, key=node_key("device", 1))
        self.assertEqual(cm.exception.code, aigw.ERR_INVALID_ARG)

    def test_node_keys_are_per_node_and_checked(self):
        self.assertEqual(node_key("device", 7), aigw.node_key(KEY, "device", 7))
        self.assertNotEqual(node_key("device", 7), node_key("device", 8))
        self.assertNotEqual(node_key("device", 7), node_key("gpu", 7))
        with self.assertRaises(aigw.Error):
            aigw.node_key(KEY, "controller", 1)
        with self.assertRaises(ValueError):
            aigw.node_key(b"short", "device", 1)

    def test_key_length_checked(self):
        with self.assertRaises(ValueError):
            aigw.Server("127.0.0.1:7700", gpu_id=1, key=b"short", models=["m"])

    def test_closed_handles_refuse(self):
        s = aigw.Server("127.0.0.1:9", gpu_id=1, key=node_key("gpu", 1), models=["m"])
        with s:
            self.assertTrue(s.data_address.startswith("127.0.0.1:"))
            self.assertIsNone(s.next_unit(timeout_ms=0))
        with self.assertRaises(aigw.Error) as cm:
            s.next_unit(timeout_ms=0)
        self.assertEqual(cm.exception.code, aigw.ERR_STATE)

    def test_admission_times_out_without_controller(self):
        port = free_port()  # nobody listens there
        with aigw.Device(f"127.0.0.1:{port}", device_id=3, key=node_key("device", 3)) as d:
            with self.assertRaises(aigw.Error) as cm:
                d.open_stream(unit_bytes=1000, period_ms=100, model="m")
            self.assertEqual(cm.exception.code, aigw.ERR_TIMEOUT)

    def test_docstrings(self):
        for obj in (aigw.Device.send, aigw.Server.next_unit, aigw.Server.units, aigw.Unit, aigw.Error):
            self.assertTrue(obj.__doc__ and len(obj.__doc__) > 20, obj)


class ThroughTheGateway(unittest.TestCase):
    def test_units_arrive_verified_and_zero_copy(self):
        with Cluster() as c, aigw.Server(c.controller, gpu_id=1, key=node_key("gpu", 1), models=["resnet"], period_ms=100) as srv:
            self.assertTrue(c.wait_gpus(1), c.status())
            with aigw.Device(c.controller, device_id=11, key=node_key("device", 11), **c.device_options()) as dev:
                info = dev.open_stream(unit_bytes=UNIT, period_ms=50, model="resnet")
                sid = info["stream_id"]
                sent = [payload(i) for i in range(6)]
                # numpy, bytes and memoryview: all taken through the buffer protocol.
                for i, a in enumerate(sent):
                    buf = a if i % 3 == 0 else (a.tobytes() if i % 3 == 1 else memoryview(a))
                    dev.send(sid, buf)
                got = {}
                for u in srv.units(timeout_ms=5000, count=len(sent)):
                    with u:
                        self.assertEqual(u.stream_id, sid)
                        self.assertEqual(u.model, "resnet")
                        self.assertEqual(len(u), UNIT)
                        view = memoryview(u)
                        arr = u.numpy()
                        # Both views share one buffer: the library's, not a copy.
                        self.assertEqual(arr.__array_interface__["data"][0],
                                         np.frombuffer(view, np.uint8).__array_interface__["data"][0])
                        got[u.unit_seq] = hashlib.sha256(arr).hexdigest()
                    self.assertFalse(u.held)
                self.assertEqual(len(got), len(sent))
                first = info["first_unit_seq"]
                for i, a in enumerate(sent):
                    self.assertEqual(got[first + i], hashlib.sha256(a).hexdigest(), i)
                cnt = srv.counters()
                self.assertEqual(cnt["units_verified"], len(sent))
                self.assertEqual(cnt["units_corrupt"], 0)
                self.assertEqual(cnt["units_held"], 0)
                self.assertGreaterEqual(cnt["acks_sent"], len(sent))

    def test_encrypted_units_are_opened(self):
        pk = bytes(range(32))
        with Cluster() as c, aigw.Server(c.controller, gpu_id=2, key=node_key("gpu", 2), models=["m"], payload_key=pk,
                                          period_ms=100) as srv:
            self.assertTrue(c.wait_gpus(1), c.status())
            with aigw.Device(c.controller, device_id=12, key=node_key("device", 12), **c.device_options()) as dev:
                sid = dev.open_stream(unit_bytes=UNIT, period_ms=50, model="m", payload_key=pk)["stream_id"]
                data = payload(99)
                dev.send(sid, data)
                u = srv.next_unit(timeout_ms=5000)
                self.assertIsNotNone(u)
                with u:
                    self.assertTrue(u.flags & aigw.UNIT_DECRYPTED)
                    self.assertTrue(np.array_equal(u.numpy(), data))

    def test_held_units_raise_reported_load(self):
        with Cluster() as c, aigw.Server(c.controller, gpu_id=3, key=node_key("gpu", 3), models=["m"], period_ms=100,
                                          max_held_units=4) as srv:
            self.assertTrue(c.wait_gpus(1), c.status())
            with aigw.Device(c.controller, device_id=13, key=node_key("device", 13), **c.device_options()) as dev:
                sid = dev.open_stream(unit_bytes=UNIT, period_ms=50, model="m")["stream_id"]
                held = []
                for i in range(4):
                    dev.send(sid, payload(i))
                    u = srv.next_unit(timeout_ms=5000)
                    self.assertIsNotNone(u)
                    held.append(u)
                # All slots held: the next sync reports full load; the controller sees it.
                self.assertTrue(c.wait_until(lambda: srv.counters()["last_load"] >= 0.99, 3))
                self.assertTrue(c.wait_until(
                    lambda: any(g.get("load", 0) >= 0.99 for g in c.api("/api/v1/gpus") or []), 3),
                    c.api("/api/v1/gpus"))
                # A unit that finds no free slot is counted and left unacknowledged.
                dev.send(sid, payload(9))
                self.assertTrue(c.wait_until(lambda: srv.counters()["units_refused_held"] >= 1, 3))
                for u in held:
                    u.release()
                self.assertTrue(c.wait_until(lambda: srv.counters()["last_load"] < 0.5, 3))


if __name__ == "__main__":
    unittest.main(verbosity=2)
