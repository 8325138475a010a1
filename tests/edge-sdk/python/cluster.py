"""A real cluster on loopback for the Python tests: the aigw-controller and one
aigw-gateway (socket backend) as child processes with generated TOML files and one
master key (each node holds the key derived for it), and optionally an aigw-impair relay with seeded loss on the device ->
gateway hop (the topology of sim/live/cluster_config.cpp: the relay listens on the
gateway's own loopback address with the data port and forwards to the gateway's
wildcard socket, translating the device's source address). The GPU server is the
test's own (aigw.Server or the C example). Every wait is bounded; the children are
killed when the cluster stops, and their logs are kept when a test fails."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import aigw

KEY_HEX = "5a17c0de00112233445566778899aabbccddeeff0123456789abcdef01234567"
KEY = bytes.fromhex(KEY_HEX)  # the master key in the controller's [[keys]]


def node_key(role, node):
    """The key one node holds: derived from the master, as `aigwctl key derive` prints it."""
    return aigw.node_key(KEY, role, node)
SYNC_MS = 100
GATEWAY_HOST = "127.1.0.1"       # the gateway's own address when the device hop is relayed
DEVICE_CONTROL_HOST = "127.2.0.1"  # what the device announces (the relay's NAT of 127.3.0.1)
DEVICE_DATA_HOST = "127.3.0.1"
SOURCE_NAT = "127.2.0.0/16"


def free_port(udp=True):
    """A port the kernel picked (port 0) and released: the daemons take ports from files."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def program(env_name):
    path = os.environ.get(env_name, "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"{env_name} does not name an executable ({path!r})")
    return path


class Cluster:
    """Controller + gateway (+ relay). Use as a context manager."""

    def __init__(self, loss=None, seed=7, capacity_gbps=1.0):
        self.dir = tempfile.mkdtemp(prefix="aigw-pytest-")
        self.loss = loss
        self.seed = seed
        self.capacity_gbps = capacity_gbps
        self.children = []
        self.controller_port = free_port()
        self.http_port = free_port(udp=False)
        self.gateway_control_port = free_port()
        self.gateway_data_port = free_port()
        self.failed = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.failed = True
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    def spawn(self, name, argv):
        log = open(os.path.join(self.dir, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.children.append((name, p))
        return p

    def start(self):
        relayed = self.loss is not None
        controller_toml = os.path.join(self.dir, "controller.toml")
        with open(controller_toml, "w") as f:
            f.write(
                f'listen = "127.0.0.1:{self.controller_port}"\n'
                f'http_listen = "127.0.0.1:{self.http_port}"\n'
                f'control_socket = "{self.dir}/controller.sock"\n'
                f"controller_key_id = 1\nsync_period_ms = {SYNC_MS}\ndead_after_periods = 3\n"
                "log_level = \"info\"\n\n[admission]\nwarmup_ms = 0\n\n[migration]\nenabled = false\n\n"
                f'[[keys]]\nid = 1\nhex = "{KEY_HEX}"\nroles = []\n'
            )
        self.spawn("controller", [program("AIGW_CONTROLLER"), "--config", controller_toml])

        gateway_toml = os.path.join(self.dir, "gateway.toml")
        gateway_key = node_key("gateway", 1).hex()
        with open(gateway_toml, "w") as f:
            f.write(
                '[gateway]\nid = 1\nbackend = "socket"\nlog_level = "info"\n\n'
                f'[control]\nbind = "{GATEWAY_HOST if relayed else "127.0.0.1"}:{self.gateway_control_port}"\n'
                f'controller = "127.0.0.1:{self.controller_port}"\nkey_id = 1\nkey = "{gateway_key}"\n'
                f"sync_period_ms = {SYNC_MS}\n\n"
                '[egress]\nbind = "127.0.0.1:0"\nstore_units = 16\n\n'
                "[receiver]\nunit_deadline_ms = 3000\n\n"
                "[socket]\nbuffer_bytes = 8388608\n\n"
                f'[[port]]\naddress = "{"0.0.0.0" if relayed else "127.0.0.1"}"\nport = {self.gateway_data_port}\n'
                f"capacity_gbps = {self.capacity_gbps}\nmemory_budget_mb = 64\n"
            )
        if relayed:
            relay_toml = os.path.join(self.dir, "impair.toml")
            with open(relay_toml, "w") as f:
                f.write(
                    f'listen = "{GATEWAY_HOST}:{self.gateway_data_port}"\n'
                    f'upstream = "127.0.0.1:{self.gateway_data_port}"\n'
                    f'share_port = true\nsource_nat = "{SOURCE_NAT}"\n\n'
                    f"[forward]\nseed = {self.seed}\nloss = {self.loss}\n"
                )
        self.spawn("gateway", [program("AIGW_GATEWAY"), "--config", gateway_toml])
        if relayed:
            self.spawn("impair", [program("AIGW_IMPAIR"), "--config", relay_toml, "--stats-interval", "0",
                                  "--log-level", "warn"])
        if not self.wait_until(lambda: self.status().get("gateways_live") == 1, 10):
            raise RuntimeError(f"gateway did not come up; logs in {self.dir}")

    def stop(self):
        for name, p in reversed(self.children):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, p in self.children:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        self.children = []
        if self.failed:
            print(f"cluster files and logs kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ queries
    @property
    def controller(self):
        return f"127.0.0.1:{self.controller_port}"

    def device_options(self):
        """Keyword arguments for aigw.Device that fit the topology (relayed or not)."""
        if self.loss is None:
            return {}
        return {
            "control_bind": f"{DEVICE_CONTROL_HOST}:{free_port()}",
            "data_bind": f"{DEVICE_DATA_HOST}:{free_port()}",
            "advertise_address": DEVICE_CONTROL_HOST,
        }

    def api(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=1) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return {}

    def status(self):
        return self.api("/api/v1/status")

    def check_children(self):
        for name, p in self.children:
            if p.poll() is not None:
                self.failed = True
                raise RuntimeError(f"{name} exited with {p.returncode}; logs in {self.dir}")

    def wait_until(self, ready, timeout_s):
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_children()
            if ready():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def wait_gpus(self, n, timeout_s=10):
        return self.wait_until(lambda: self.status().get("gpus") == n and not self.status().get("warming_up", True),
                               timeout_s)
