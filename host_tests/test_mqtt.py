"""Real MQTT clients through the emulator to a real broker (Debian's mosquitto, started here):
chumicro-mqtt (from PyPI) QoS 0 and 1 up to 64 KiB, and micropython-lib's umqtt.simple,
umqtt.simple2 and chumicro-mqtt, unmodified, publishing up to 16 KiB while the host floods
their subscription at more than half the line rate (issue 9)."""
from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from host_tests.mqtt_publisher import Flood
from atmodem.dialects import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed (./run test installs it when run as root)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    from host_tests.emu_helpers import free_port

    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # QoS 0 lets a broker shed messages for a slow subscriber; this one must not, since
    # the tests count every message (max_queued_messages 0: no limit)
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\nmessage_size_limit 0\n"
                    "max_queued_messages 0\n" % port)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)  # the broker is starting: nothing to wait on but its port
    yield port
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def tls_broker(tmp_path, certs):
    """mosquitto with a TLS listener whose certificate the tests' CA signed (for localhost)."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    from host_tests.emu_helpers import free_port

    port = free_port()
    certs.good.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    certs.good.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    conf = tmp_path / "mosquitto.conf"
    # user root: as root, mosquitto would drop to its own user, which cannot read pytest's 0700 dirs
    conf.write_text("listener %d 127.0.0.1\nuser root\nallow_anonymous true\ncafile %s/ca.crt\ncertfile %s\nkeyfile %s\n"
                    % (port, certs.dir, tmp_path / "server.crt", tmp_path / "server.key"))
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


@pytest.mark.parametrize("dialect", names())
def test_umqtt_over_8883_through_tls_in_the_module(emulator, tls_broker, certs, mplibs, dialect):
    """umqtt.simple, unmodified, ssl=True with a verified server: the modem's tls shim turns
    its wrapped socket into a module TLS connection (issue 21)."""
    emu = emulator(dialect, cert_dir=certs.dir) if dialect == "nm28" else emulator(dialect)
    env = {"MICROPYPATH": ":".join([os.path.join(ROOT, "lib"), mplibs, ".frozen"])}
    r = subprocess.run(
        [MP, "-X", "heapsize=8M", os.path.join(ROOT, "host_tests", "mp_mqtt_tls.py"), emu.path, dialect,
         str(tls_broker), certs.dir + "/ca.crt"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert "PASS" in r.stdout and "True" in r.stdout, r.stdout + r.stderr


@pytest.fixture(scope="module")
def client_lib(tmp_path_factory):
    """chumicro_mqtt's own files, for the micropython binary's path."""
    import chumicro_mqtt

    d = tmp_path_factory.mktemp("mqttlib")
    shutil.copytree(os.path.dirname(chumicro_mqtt.__file__), d / "chumicro_mqtt")
    return str(d)


@pytest.mark.parametrize("dialect", names())
def test_chumicro_mqtt_through_the_modem(emulator, broker, client_lib, dialect):
    emu = emulator(dialect)
    env = {"MICROPYPATH": ":".join([os.path.join(ROOT, "lib"), client_lib, ".frozen"])}
    r = subprocess.run(
        [MP, "-X", "heapsize=8M", os.path.join(ROOT, "host_tests", "mp_mqtt.py"), emu.path, dialect, str(broker)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert "PASS" in r.stdout, r.stdout + r.stderr


BAUD = 115200
LINE_RATE = BAUD / 10  # bytes per second, 8N1
FLOOD_RATE = 0.6 * LINE_RATE  # the publisher's pace: must hold >= half the line rate
# (library, runtime): umqtt.simple2 needs MicroPython's uselect.poll on a non-file object
# and utime.ticks_*, which CPython does not have
CLIENTS = [
    ("umqtt.simple", "micropython"), ("umqtt.simple", "cpython"),
    ("umqtt.simple2", "micropython"),
    ("chumicro", "micropython"), ("chumicro", "cpython"),
]
# The driver's default socket mode; MQTT_FLOOD_MODES=default,push,buffer compares modes.
MODES = os.environ.get("MQTT_FLOOD_MODES", "default").split(",")


@pytest.fixture(scope="session")
def mplibs() -> str:
    from tools import mplibs

    try:
        return mplibs.ensure()
    except mplibs.FetchError as e:
        pytest.fail(str(e))


class Lines:
    """A child's stdout, line by line, each waited for with a deadline."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.seen, self.lines = proc, [], queue.Queue()
        self.at = 0.0  # when the line wait() returned arrived
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put(None)

    def wait(self, prefix: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                item = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
                why = "the client ended"
            except queue.Empty:
                item, why = None, "%d s passed" % seconds
            if item is None:
                self.proc.kill()
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError("%s without %s; it said:\n%s\n%s" % (why, prefix, "\n".join(self.seen), err))
            self.at, line = item
            self.seen.append(line)
            if line.startswith(prefix):
                return line


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lib,runtime", CLIENTS)
@pytest.mark.parametrize("dialect", names())
def test_flooded_client_publishes_up_to_16k(emulator, broker, mplibs, client_lib, dialect, lib, runtime, mode):
    """Issue 9: the client's subscription is flooded at >= half the line rate while it publishes
    1, 4 and 16 KiB; every message on both topics arrives intact and in order."""
    emu = emulator(dialect, baud=BAUD)
    script = os.path.join(ROOT, "host_tests", "mqtt_flood_client.py")
    args = [emu.path, dialect, str(broker), lib, mode]
    if runtime == "micropython":
        cmd = [MP, "-X", "heapsize=8M", script] + args
        env = {"MICROPYPATH": ":".join([os.path.join(ROOT, "lib"), mplibs, client_lib, ".frozen"])}
    else:
        cmd = [sys.executable, "-u", script] + args
        env = dict(os.environ, PYTHONPATH=":".join([os.path.join(ROOT, "lib"), mplibs]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    flood = Flood(broker, "atmodem/flood", FLOOD_RATE)
    try:
        out = Lines(proc)
        out.wait("READY", 20)
        flood.start()
        out.wait("OWN-DONE", 30)
        rate = flood.stop()
        got = dict(kv.split("=") for kv in out.wait("RECEIVED", 20).split()[1:])
        took = out.at - flood.started  # from the first flood message to the client having its END
        out.wait("PASS", 5)
        down = int(got["flood_bytes"]) + int(got["own_bytes"])
        print("%s/%s/%s/%s: flood of %d messages sent at %.0f B/s (%.0f%% of the line); the client had "
              "them and its own %d back in %.1f s: %.0f%% of the line in MQTT payload"
              % (lib, runtime, dialect, mode, flood.count, rate, 100 * rate / LINE_RATE, int(got["own"]),
                 took, 100 * down / took / LINE_RATE))
        assert int(got["flood"]) == flood.count and int(got["own"]) == 3, got
        assert rate >= LINE_RATE / 2, rate
        assert proc.wait(10) == 0
    finally:
        if flood.is_alive():
            flood.stop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
