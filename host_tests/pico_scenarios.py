"""Scenarios that need the harness to act in the middle (it watches the board's output for
"@" lines). MicroPython subset, like scenarios.py."""


def module_reboot(m, port):
    """The module reboots under an open socket: the data first, then an error that says so;
    with auto_reattach the modem comes back and a new socket works."""
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"before")
    assert s.read(6) == b"before"
    print("@reboot")  # the harness reboots the emulated module now
    try:
        while True:
            if not s.recv(10):
                raise AssertionError("end of stream instead of an error")
    except OSError as e:
        assert "rebooted" in str(e), e
    s.close()
    s = m.socket()
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(b"after")
    assert s.read(5) == b"after"
    s.close()
    return m.state


ALL = {"module_reboot": module_reboot}
