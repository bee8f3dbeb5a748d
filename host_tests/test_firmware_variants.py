"""The driver against each firmware variant of the emulator (tools/emulator/variants.py):
the forms real firmware shows (/work/notes/real-modules-research.md). The driver's own
scenarios (host_tests/scenarios.py), on CPython and on the micropython binary; each variant
runs the scenarios whose commands it changes. Sizes are small: these check forms, not rates
(test_driver.py has the mebibyte runs on the manual's forms)."""
from __future__ import annotations

import socket
import time

import pytest
import serial

import atmodem
from atmodem.dialects import identify, load, names
from host_tests.emu_helpers import free_port
from host_tests.test_driver import run_scenario
from tools import loopback

GBK_NM28 = "域格".encode("gbk") + b" NM28"  # not UTF-8: b"\xd3\xf2\xb8\xf1 NM28"
GBK_L610 = "广和通".encode("gbk") + b" L610"
IP = "10.166.80.147"

# name: (dialect, emulator settings)
VARIANTS = {
    "g510": ("l610", dict(firmware="g510")),
    "g24": ("l610", dict(firmware="g24")),
    "g24-old": ("l610", dict(firmware="g24-old")),
    "hm609": ("nm28", dict(firmware="hm609")),
    "nm28-no-trailer": ("nm28", dict(push_trailer=False)),
    "l610-no-trailer": ("l610", dict(push_trailer=False)),
    "nm28-echo-sticks": ("nm28", dict(echo_sticks=True)),
    "l610-echo-sticks": ("l610", dict(echo_sticks=True)),
    "nm28-gbk-model": ("nm28", dict(model=GBK_NM28)),
    "l610-gbk-model": ("l610", dict(model=GBK_L610)),
    "hm609-all-quirks": ("nm28", dict(firmware="hm609", push_trailer=False, echo_sticks=True, model=GBK_NM28)),
    "g24-all-quirks": ("l610", dict(firmware="g24", push_trailer=False, echo_sticks=True, model=GBK_L610)),
}

# name: (scenario, server, arguments); server "tcp" echo, "udp" echo, "bye" (sends b"bye"
# and closes), "none" (a port nobody listens on)
SCENARIOS = {
    "echo_push": ("echo_stream", "tcp", dict(mode="push", size=65536)),
    "echo_buffer": ("echo_stream", "tcp", dict(mode="buffer", size=65536)),
    "peer_close_push": ("peer_close", "bye", dict(mode="push")),
    "peer_close_buffer": ("peer_close", "bye", dict(mode="buffer")),
    "many_sockets": ("many_sockets", "tcp", dict(rounds=2)),
    "resolve": ("resolve", "tcp", {}),
    "refused": ("refused", "none", {}),
    "udp_push": ("echo_udp", "udp", dict(mode="push", size=16384)),
    "datagrams_buffer": ("datagrams", "udp", dict(mode="buffer")),
    "datagrams_push": ("datagrams", "udp", dict(mode="push")),
}
EVERYTHING = list(SCENARIOS)
# What each variant touches (why, in short):
RUNS = {
    # dial result, open before OK, +MIPPUSH acked, +MIPSTAT ack notices, +MIPCLOSE acked,
    # bare OK for an empty read, ERROR: <n>, banner: every scenario goes through them
    "g510": EVERYTHING,
    "g24": EVERYTHING,  # and tight colons, spaced id lists
    # +MIPSEND:<id>,<free> and +MIPPUSH:<st> (every send), space-separated id lists (the
    # table at start, the many_sockets round)
    "g24-old": ["echo_push", "echo_buffer", "peer_close_push", "many_sockets", "refused", "udp_push"],
    # no NETWRITE (every send), +IPREAD (buffer), 913 (closing what is gone), +IPOPEN unchanged
    "hm609": EVERYTHING,
    # pushed data with no CR LF after it: recognised from the first payload a line of the
    # module's follows; a datagram answered by silence is not such (see the test below)
    "nm28-no-trailer": ["echo_push", "peer_close_push", "many_sockets", "resolve"],
    "l610-no-trailer": ["echo_push", "peer_close_push", "many_sockets", "resolve"],
    # echo on for every command
    "nm28-echo-sticks": ["echo_push", "echo_buffer", "peer_close_push", "many_sockets", "resolve", "refused", "datagrams_buffer"],
    "l610-echo-sticks": ["echo_push", "echo_buffer", "peer_close_push", "many_sockets", "resolve", "refused", "datagrams_buffer"],
    # the model line at start-up
    "nm28-gbk-model": ["resolve"],
    "l610-gbk-model": ["resolve"],
    "hm609-all-quirks": [s for s in EVERYTHING if s not in ("udp_push", "datagrams_push")],
    "g24-all-quirks": [s for s in EVERYTHING if s not in ("udp_push", "datagrams_push")],
}
CASES = [(v, s) for v, names in RUNS.items() for s in names]


def _bye(conn):
    conn.sendall(b"bye")
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)


@pytest.fixture(scope="module")
def servers():
    with loopback.echo_server() as tcp, loopback.UdpEcho() as udp, loopback.TcpServer(_bye) as bye:
        yield {"tcp": tcp.port, "udp": udp.port, "bye": bye.port}


def _port(servers, kind):
    return free_port() if kind == "none" else servers[kind]


@pytest.mark.parametrize("variant,scenario", CASES, ids=["%s-%s" % c for c in CASES])
def test_scenario_on_variant(emulator, runtime, servers, variant, scenario):
    dialect, settings = VARIANTS[variant]
    name, server, kw = SCENARIOS[scenario]
    run_scenario(emulator(dialect, **settings), runtime, dialect, name, port=_port(servers, server), **kw)


# ---------------------------------------------------------------- CPython-only details
def _modem(emu, dialect):
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect=dialect)
    m.start()
    return m


@pytest.mark.parametrize("variant", ["g510", "g24", "g24-all-quirks"])
def test_attach_gives_the_bare_address(emulator, variant):
    """g510's dial result is `+MIPCALL: 1,<ip>`: attach() returns the address alone."""
    dialect, settings = VARIANTS[variant]
    m = _modem(emulator(dialect, **settings), dialect)
    try:
        assert m.attach(apn="cmnet") == IP
    finally:
        m.close()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_dialect_is_identified_by_its_model_line(emulator, variant):
    """No dialect given: the driver reads the model line (GBK bytes in some variants)."""
    dialect, settings = VARIANTS[variant]
    m = _modem(emulator(dialect, **settings), None)
    try:
        assert type(m.dialect) is load(dialect) and identify(m.model.encode()) == dialect, m.model
    finally:
        m.close()


@pytest.mark.parametrize("variant", ["g510", "g24"])
def test_attach_while_a_dial_is_in_progress(emulator, runtime, servers, variant):
    """A dial another program (or the driver before a restart) started is still running:
    `AT+MIPCALL?` answers `+MIPCALL: 2`. attach() waits for it, and the link works."""
    dialect, settings = VARIANTS[variant]
    emu = emulator(dialect, async_delay=1.5, **settings)
    emu.wait_idle()
    ser = serial.Serial(emu.path, 115200, timeout=0.05)
    ser.write(b'AT+MIPCALL=1,"cmnet"\r')
    got, deadline = b"", time.monotonic() + 5
    while not got.endswith(b"OK\r\n"):
        assert time.monotonic() < deadline, got
        got += ser.read(100)
    ser.close()
    if runtime == "cpython":
        m = _modem(emu, dialect)
        try:
            assert m.attach(apn="cmnet") == IP
        finally:
            m.close()
    run_scenario(emu, runtime, dialect, "resolve", port=servers["tcp"])
    assert b"+MIPCALL: 2\r\n" in emu.transcript(">"), "the dial was over before the driver asked"


@pytest.mark.parametrize("dialect", names())
def test_firmware_without_a_trailer_is_recognised_then_datagrams_work(emulator, servers, dialect):
    """Pushed data with no CR LF after it: the first payload followed by a line of the
    module's (a TCP echo's next send) shows what the firmware does; from then on a datagram
    followed by silence is confirmed at once, not after a second's wait for its CR LF
    (docs/real-modules.md)."""
    from host_tests import scenarios

    m = atmodem.Modem(atmodem.hal.open_serial(emulator(dialect, push_trailer=False).path), dialect=dialect)
    m.start()
    m.attach(apn="cmnet")
    try:
        scenarios.echo_stream(m, servers["tcp"], mode="push", size=8192)
        assert any("without CR LF" in w for w in m.warnings), m.warnings
        scenarios.echo_udp(m, servers["udp"], mode="push", size=4096)
    finally:
        m.close()


@pytest.mark.parametrize("dialect", names())
def test_a_first_payload_without_a_trailer_then_silence_is_data_not_an_error(emulator, dialect):
    """Firmware that sends no CR LF after pushed data, and a server that says one thing and
    waits: the payload is complete and nothing came after it, so its bytes are sound (a
    byte lost inside it would have taken the trailer's place). It reaches the program; the
    socket stays usable. (It failed with a framing error until the firmware had shown its
    habit twice: CI saw it on the micropython binary.)"""

    def hello_then_wait(conn):
        conn.sendall(b"hello")
        conn.recv(1)  # until the client writes

    with loopback.TcpServer(hello_then_wait) as srv:
        m = atmodem.Modem(atmodem.hal.open_serial(emulator(dialect, push_trailer=False).path), dialect=dialect)
        m.start()
        m.attach(apn="cmnet")
        try:
            s = m.socket(mode="push")
            s.settimeout(5)
            s.connect(("127.0.0.1", srv.port))
            assert s.read(5) == b"hello"
            s.settimeout(1.5)  # longer than the stall bound: the quiet line decides
            with pytest.raises(OSError) as e:
                s.recv(10)
            assert getattr(e.value, "errno", None) == 110, e.value  # a timeout, not EPROTO
            s.sendall(b"x")
            s.close()
        finally:
            m.close()


@pytest.mark.parametrize("refusals", [1, 3])
@pytest.mark.parametrize("variant", ["g510", "g24"])
def test_a_refused_dial_is_one_failure_and_a_later_attach_works(emulator, servers, variant, refusals):
    """The network refuses the dial: `ERROR: 148` at once, `+MIPCALL: 0` 0.3 s later, and
    the module refuses a dial until then. One refusal: attach() dials again after that line
    and returns the address. Three: attach() raises naming the error, and the next attach()
    works. Either way no late `+MIPCALL: 0` is taken for a lost bearer: the address stays
    and a socket echoes a second later."""
    dialect, settings = VARIANTS[variant]
    emu = emulator(dialect, async_delay=0.3, **settings)
    emu.refuse_dial(refusals)
    m = _modem(emu, dialect)
    try:
        if refusals == 3:
            with pytest.raises(OSError) as e:
                m.attach(apn="cmnet")
            assert "ERROR: 148" in str(e.value) and "3 tries" in str(e.value), str(e.value)
        assert m.attach(apn="cmnet") == IP
        time.sleep(1)
        assert m.ip == IP
        s = m.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", servers["tcp"]))
        s.sendall(b"after a refused dial")
        assert s.read(20) == b"after a refused dial"
        s.close()
    finally:
        m.close()
    sent = emu.transcript("<")
    assert sent.count(b"AT+MIPCALL=1") == refusals + 1, sent
    assert b"ERROR: 3" not in emu.transcript(">"), "a dial went out while the module was busy"


@pytest.mark.parametrize("query", ["AT+MIPCLOSE?", "AT+MIPOPEN?"])
def test_space_separated_id_lists_are_read_as_ids(emulator, servers, query):
    """g24-old lists ids with spaces: `+MIPCLOSE:1 2` (in use) and `+MIPOPEN: 3 4 5 6` (free:
    what the driver asks when AT+MIPCLOSE? gives no list). modem.open_sockets() names the two
    sockets open, and they keep working."""
    emu = emulator("l610", firmware="g24-old")
    m = _modem(emu, "l610")
    try:
        m.attach(apn="cmnet")
        socks = []
        for _ in range(2):
            s = m.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", servers["tcp"]))
            socks.append(s)
        if query == "AT+MIPOPEN?":
            emu.fail_command("AT+MIPCLOSE?", "error")
        emu.clear_transcript()
        assert m.open_sockets() == sorted(s.id for s in socks)
        assert query.encode() in emu.transcript("<")
        for s in socks:
            s.sendall(b"still open")
            assert s.read(10) == b"still open"
            s.close()
    finally:
        m.close()
