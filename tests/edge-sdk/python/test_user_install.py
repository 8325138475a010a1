"""The server SDK as a user meets it: `meson install` into a temporary DESTDIR, then a C
program built from edge-sdk/examples/server_receive.c with nothing but
`pkg-config --cflags --libs aigw-server`, and the Python example run with only the
installed module on its path. Each is the GPU server of a real cluster (controller +
gateway) and must print the exact hash of every unit the edge SDK sent."""

import glob
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import aigw
from cluster import KEY, KEY_HEX, SYNC_MS, Cluster, node_key

UNITS = 5
UNIT = 688128  # the reference 672 KB unit


def env(name):
    v = os.environ.get(name)
    if not v:
        raise unittest.SkipTest(f"{name} is not set (run through meson test)")
    return v


def fnv1a(b):
    h = 1469598103934665603
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


class UserInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp(prefix="aigw-install-")
        subprocess.run([env("AIGW_MESON"), "install", "-C", env("AIGW_BUILD_ROOT"), "--no-rebuild", "--quiet",
                        "--tags", "edge-sdk,devel,python", "--destdir", cls.destdir], check=True, timeout=240)
        cls.root = cls.destdir + env("AIGW_PREFIX")
        cls.libdir = os.path.join(cls.root, env("AIGW_LIBDIR"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def run_env(self):
        e = dict(os.environ)
        e["LD_LIBRARY_PATH"] = self.libdir
        e.pop("PYTHONPATH", None)
        return e

    def send_units(self, dev):
        """Sends UNITS deterministic units with the edge SDK; returns their bytes by seq."""
        info = dev.open_stream(unit_bytes=UNIT, period_ms=100, model="openpose")
        sent = {}
        for i in range(UNITS):
            a = np.random.default_rng(500 + i).integers(0, 256, size=UNIT, dtype=np.uint8)
            dev.send(info["stream_id"], a)
            sent[info["first_unit_seq"] + i] = a.tobytes()
        return sent

    def run_server(self, c, argv, device_id, run_env=None):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=run_env or self.run_env(),
                             text=True)
        try:
            first = p.stdout.readline()
            if not first.startswith("listening"):
                self.fail(first + p.stderr.read())
            self.assertTrue(c.wait_gpus(1), c.status())
            # The device stays open until the server has everything: it paces and repairs.
            with aigw.Device(c.controller, device_id=device_id, key=node_key("device", device_id), **c.device_options()) as dev:
                sent = self.send_units(dev)
                out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        self.assertEqual(p.returncode, 0, out + err)
        lines = [l for l in out.splitlines() if l.startswith("unit ")]
        self.assertEqual(len(lines), UNITS, out)
        return sent, [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in lines], out

    def test_c_program_built_with_pkg_config(self):
        pcdir = os.path.join(self.libdir, "pkgconfig")
        self.assertTrue(os.path.exists(os.path.join(pcdir, "aigw-server.pc")))
        exe = os.path.join(self.destdir, "server_receive")
        src = os.path.join(env("AIGW_SOURCE_ROOT"), "edge-sdk", "examples", "server_receive.c")
        pc = f"PKG_CONFIG_PATH={shlex.quote(pcdir)} PKG_CONFIG_SYSROOT_DIR={shlex.quote(self.destdir)}"
        subprocess.run(f"cc -std=c99 -Wall -Werror {shlex.quote(src)} $({pc} pkg-config --cflags --libs aigw-server) "
                       f"-o {shlex.quote(exe)}", shell=True, check=True, timeout=120)
        with Cluster() as c:
            sent, units, out = self.run_server(
                c, [exe, "--controller", c.controller, "--gpu-id", "1", "--key", node_key("gpu", 1).hex(), "--units", str(UNITS),
                    "--period-ms", str(SYNC_MS)], 21)
        for u in units:
            data = sent[int(u["seq"])]
            self.assertEqual(int(u["bytes"]), UNIT)
            self.assertEqual(int(u["fnv"], 16), fnv1a(data), u)
            self.assertEqual(u["aligned"], "1")  # the buffer came from the program's allocator
        self.assertIn('"units_corrupt":0', out)

    def test_python_program_with_installed_module(self):
        mods = glob.glob(os.path.join(self.root, "lib", "**", "aigw*.so"), recursive=True)
        self.assertEqual(len(mods), 1, mods)
        script = glob.glob(os.path.join(self.root, "share", "aigw", "examples", "server_receive.py"))
        self.assertEqual(len(script), 1)
        e = self.run_env()
        e["PYTHONPATH"] = os.path.dirname(mods[0])
        with Cluster() as c:
            p = [env("AIGW_PYTHON"), script[0], "--controller", c.controller, "--gpu-id", "2", "--key", node_key("gpu", 2).hex(),
                 "--units", str(UNITS), "--period-ms", str(SYNC_MS)]
            sent, units, _ = self.run_server(c, p, 22, e)
        for u in units:
            self.assertEqual(u["sha256"], hashlib.sha256(sent[int(u["seq"])]).hexdigest(), u)
            self.assertEqual(u["model"], "openpose")


if __name__ == "__main__":
    unittest.main(verbosity=2)
