"""package.json is what mip needs: the micropython binary's own mip installs atmodem from the
repository served over loopback HTTP, and the installed copy drives the emulator."""
from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


def test_mip_install_from_the_repository_then_use_it(tmp_path, emulator):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=ROOT)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    target = tmp_path / "lib"
    try:
        r = subprocess.run(
            [MP, "-m", "mip", "install", "--target", str(target),
             "http://127.0.0.1:%d/package.json" % httpd.server_address[1]],
            capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
        )
    finally:
        httpd.shutdown()
    assert r.returncode == 0 and "Done" in r.stdout, r.stdout + r.stderr
    installed = sorted(os.path.relpath(os.path.join(d, f), target) for d, _, fs in os.walk(target) for f in fs)
    assert "atmodem/at.py" in installed and "atmodem/hal/pyserial_port.py" not in installed
    emu = emulator("l610")
    code = (
        "import atmodem; m = atmodem.Modem(atmodem.hal.open_serial(%r)); print(m.start()); "
        "print(m.attach()); print(atmodem.__file__)" % emu.path
    )
    r = subprocess.run([MP, "-c", code], env={"MICROPYPATH": str(target) + ":.frozen"},
                       capture_output=True, text=True, timeout=60)
    out = r.stdout.split()
    assert out[:2] == ["L610", "10.166.80.147"] and out[2].startswith(str(target)), r.stdout + r.stderr
