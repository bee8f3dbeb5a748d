"""A real MQTT client (chumicro-mqtt, from PyPI) publishes and subscribes through the
emulator to a real broker (Debian's mosquitto, started here), QoS 0 and 1, up to 64 KiB,
under the micropython binary."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

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
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\nmessage_size_limit 0\n" % port)
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


@pytest.fixture(scope="module")
def client_lib(tmp_path_factory):
    """chumicro_mqtt's own files, for the micropython binary's path."""
    import chumicro_mqtt

    d = tmp_path_factory.mktemp("mqttlib")
    shutil.copytree(os.path.dirname(chumicro_mqtt.__file__), d / "chumicro_mqtt")
    return str(d)


@pytest.mark.parametrize("dialect", ["nm28", "l610"])
def test_chumicro_mqtt_through_the_modem(emulator, broker, client_lib, dialect):
    emu = emulator(dialect)
    env = {"MICROPYPATH": ":".join([os.path.join(ROOT, "lib"), client_lib, ".frozen"])}
    r = subprocess.run(
        [MP, "-X", "heapsize=8M", os.path.join(ROOT, "host_tests", "mp_mqtt.py"), emu.path, dialect, str(broker)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert "PASS" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
@pytest.mark.parametrize("dialect", ["nm28", "l610"])
def test_umqtt_simple_call_pattern(emulator, broker, runtime, dialect):
    from host_tests.test_driver import run_scenario

    run_scenario(emulator(dialect), runtime, dialect, "umqtt_pattern", port=broker)
