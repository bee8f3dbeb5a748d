"""The AT engine fed bytes directly: framing, matching, payloads, fragmentation, fuzz."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from atmodem.at import Engine
from atmodem.command import Command
from atmodem.framing import Target as AtTarget
from atmodem.dialects.l610 import L610
from atmodem.dialects.nm28 import NM28


class Target(AtTarget):
    def __init__(self, room=None):
        self.data = bytearray()
        self.ends = 0
        self.rx_addr = None
        self.room = room  # None: takes everything

    def rx_write(self, mv, i, k):
        n = k if self.room is None else min(k, self.room - len(self.data))
        self.data += mv[i : i + n]
        return n

    def rx_end(self):
        self.ends += 1

    def rx_data(self, mv, i, k):
        return self.rx_write(mv, i, k)

    def rx_staged(self):
        return b""

    def rx_ends_crlf(self):
        return self.data[-2:] == b"\r\n"

    def rx_abort(self, err):
        self.aborted = err

    def rx_spill(self):
        pass

    def rx_data_end(self):
        pass


class Recorder:
    """A handler that records URCs and routes every payload to one target per id."""

    def __init__(self, dialect_cls: type = NM28, fmt=None):
        self.urcs = []
        self.echoes = []
        self.framings = []
        self.targets = {}
        self.d = dialect_cls(modem=None)
        self.d.payload_to = self.target
        self.d.framing = self.framing
        if fmt is not None:
            self.d.format.fmt = fmt

    def target(self, sid):
        return self.targets.setdefault(sid, Target())

    def inline(self, buf, s, e):
        return self.d.inline(buf, s, e)

    def overflow(self, buf, s, e):
        return self.d.overflow(buf, s, e)

    def urc(self, line):
        self.urcs.append(line)

    def echo(self, line):
        self.echoes.append(line)

    def framing(self, target, why, tail):
        self.framings.append((target, why, tail))
        target.rx_abort(why)


def engine_for(dialect_cls: type = NM28, fmt=None):
    h = Recorder(dialect_cls, fmt)
    e = Engine(h)
    h.d.install(e)
    e.h = h
    if fmt != 2:
        e.inline_prefix = b""
    return e, h


def feed_in_chunks(e, data, sizes):
    i = 0
    for n in sizes:
        if i >= len(data):
            break
        e.feed(data[i : i + n])
        i += n
    if i < len(data):
        e.feed(data[i:])


def test_ok_and_info_lines():
    e, h = engine_for()
    c = Command(b"AT+CSQ", prefix=b"+CSQ:")
    e.start(c)
    e.feed(b"AT+CSQ\r\r\n+CSQ: 31,99\r\n\r\nOK\r\n")
    assert c.done and c.ok() and c.lines == [b"+CSQ: 31,99"] and c.first(b"+CSQ") == b"31,99"
    assert h.urcs == []


def test_errors_are_final():
    for answer in (b"ERROR", b"+CME ERROR: operation not allowed", b"+CME ERROR: 3", b"NO CARRIER"):
        e, h = engine_for()
        c = Command(b"AT+X")
        e.start(c)
        e.feed(b"\r\n" + answer + b"\r\n")
        assert c.done and c.result == answer and not c.ok()


def test_urc_in_the_middle_of_a_response_goes_to_the_handler():
    e, h = engine_for()
    c = Command(b"AT+IPSTATE=2,0", prefix=b"+IPSTATE:")
    e.start(c)
    e.feed(b'\r\n+IPSTATE: 0,TCP,,0,0,0,0\r\n\r\n+IPURC: "closed",3\r\n\r\nIPREAD: 2\r\n'
           b"\r\n+IPSTATE: 1,TCP,1.2.3.4,80,0,2,1\r\n\r\nOK\r\n")
    assert c.ok() and len(c.lines) == 2
    assert h.urcs == [b'+IPURC: "closed",3', b"IPREAD: 2"]


def test_push_payload_with_ok_and_urc_lookalikes_inside_a_response():
    e, h = engine_for()
    payload = b"\r\nOK\r\n+IPURC: \"closed\",1\r\nERROR\r\n>" + bytes(range(256))
    c = Command(b"AT+CSQ", prefix=b"+CSQ:")
    e.start(c)
    e.feed(b"\r\n+CSQ: 20,99\r\n" + b'\r\n+IPURC: "recv",1,%d\r\n' % len(payload) + payload + b"\r\n\r\nOK\r\n")
    assert c.ok() and c.lines == [b"+CSQ: 20,99"]
    assert bytes(h.targets[1].data) == payload and h.targets[1].ends == 1
    assert h.urcs == []


def test_iprd_payload_and_the_lf_after_its_header():
    e, h = engine_for()
    c = Command(b"AT+IPRD=1,10", prefix=b"+IPRD:")
    e.start(c)
    e.feed(b"\r\n+IPRD: 1,10\r\n\n\r\nOK\r\n23\r\r\nOK\r\n")
    assert bytes(h.targets[1].data) == b"\n\r\nOK\r\n23\r"[:10] and c.ok()


def test_l610_inline_payload_format_2():
    e, h = engine_for(L610, fmt=2)
    data = b"+MIPRTCP: 1,15,x\r\nOK\r\n+MIPRT,\r\n"[:15]
    stream = b"\r\n+MIPRTCP: 1,%d," % len(data) + data + b"\r\n\r\n+MIPRUDP: 10.0.0.1,53,2,3,a,b\r\n\r\n+MIPSTAT: 1,1\r\n"
    for sizes in ([1] * len(stream), [len(stream)], [3, 7, 2, 50]):
        e, h = engine_for(L610, fmt=2)
        feed_in_chunks(e, stream, sizes)
        assert bytes(h.targets[1].data) == data
        assert bytes(h.targets[2].data) == b"a,b" and h.targets[2].rx_addr == ("10.0.0.1", 53)
        assert h.urcs == [b"+MIPSTAT: 1,1"]


def test_l610_prompt_without_line_end():
    e, h = engine_for(L610)
    c = Command(b"AT+MIPSEND=1,3", prefix=(b"+MIPPUSH:", b"+MIPSEND:"), prompt=b">", need=b"+MIPSEND:")
    e.start(c)
    e.feed(b"\r\n>")
    assert c.prompted and not c.done
    e.feed(b" \r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n")
    assert c.ok() and c.lines == [b"+MIPPUSH: 1,0", b"+MIPSEND: 1,0,2048"]


def test_l610_early_ok_waits_for_the_send_confirmation():
    """SPEC: the order varies; the seed shows OK, +MIPPUSH, +MIPSEND, OK."""
    e, h = engine_for(L610)
    c = Command(b"AT+MIPSEND=1,3", prefix=(b"+MIPPUSH:", b"+MIPSEND:"), prompt=b">", need=b"+MIPSEND:")
    e.start(c)
    e.feed(b"\r\n>\r\nOK\r\n")
    assert not c.done
    e.feed(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n")
    assert not c.done
    e.feed(b"\r\nOK\r\n")
    assert c.ok()


def test_echo_of_own_command_is_dropped_and_reported_only_when_echo_should_be_off():
    e, h = engine_for()
    c = Command(b"ATE0")
    e.start(c)
    e.feed(b"ATE0\r\r\nOK\r\n")
    assert c.ok()
    e.pending = None
    e.feed(b"AT+FOO\r")
    assert e.echoes == 1 and h.echoes == [] and h.urcs == []  # noise is not a reset sign
    e.echo_on = False
    e.echo_off_seen = True  # a command was answered without its echo: echo really is off
    c = Command(b"AT+CSQ", prefix=b"+CSQ:")
    e.start(c)
    e.feed(b"AT+CSQ\r\r\n+CSQ: 1,2\r\n\r\nOK\r\n")
    assert c.ok() and h.echoes == [b"AT+CSQ"]  # our own echo after ATE0: the module reset


def test_a_module_that_ignores_ate0_is_served_and_its_echoes_prove_nothing():
    e, h = engine_for()
    e.echo_on = False  # ATE0 was answered OK, and no command has been answered without echo
    for _ in range(3):
        c = Command(b"AT+CSQ", prefix=b"+CSQ:")
        e.start(c)
        e.feed(b"AT+CSQ\r\r\n+CSQ: 1,2\r\n\r\nOK\r\n")
        assert c.ok() and c.lines == [b"+CSQ: 1,2"]
    assert h.echoes == [] and e.echo_ignored


def test_boot_urc_starting_with_at_is_a_urc_not_an_echo():
    e, h = engine_for(L610)
    e.feed(b"\r\nAT command ready\r\n")
    assert h.urcs == [b"AT command ready"] and not h.echoes


def test_overlong_line_is_dropped_and_the_engine_resynchronises():
    e, h = engine_for()
    e.feed(b"\r\n" + b"x" * 5000 + b"\r\n\r\n+IPURC: \"closed\",2\r\n")
    assert e.overflows == 1 and h.urcs == [b'+IPURC: "closed",2']


def test_bad_lengths_do_not_start_payloads():
    e, h = engine_for()
    e.feed(b'\r\n+IPURC: "recv",1,-5\r\n\r\n+IPURC: "recv",1,999999\r\n\r\n+IPURC: "recv",x,1\r\nIPREAD: 1\r\n')
    assert h.urcs[-1] == b"IPREAD: 1"
    # no payload started; the socket they name fails, since its data cannot be framed
    assert not h.targets[1].data and [w for _, w, _ in h.framings] == [
        "a header announced -1 bytes (1-4096)", "a header announced 999999 bytes (1-4096)",
        "a data header that cannot be read (b'+IPURC: \"recv\",x,1')"]


def test_unknown_id_payload_is_consumed_to_stay_in_sync():
    e, h = engine_for()
    h.d.payload_to = lambda sid: __import__("atmodem.framing", fromlist=["DISCARD"]).DISCARD
    e.feed(b'\r\n+IPURC: "recv",7,5\r\nOK\r\n\r\n\r\nIPREAD: 1\r\n')
    assert h.urcs == [b"IPREAD: 1"]


def test_a_full_target_stops_the_engine_and_the_rest_waits():
    """Back-pressure: the engine takes what the target has room for and stops there; fed
    again from that point once there is room, it carries on as if nothing happened."""
    e, h = engine_for()
    t = h.targets[1] = Target(room=4)
    stream = b'\r\n+IPURC: "recv",1,10\r\n0123456789\r\n\r\nIPREAD: 2\r\n'
    i = e.feed(stream)
    assert e.blocked and bytes(t.data) == b"0123" and h.urcs == []
    assert stream[i:].startswith(b"456789")
    assert e.feed(stream, len(stream), i) == i and e.blocked  # still no room: nothing moves
    t.room = 100
    assert e.feed(stream, len(stream), i) == len(stream) and not e.blocked
    assert bytes(t.data) == b"0123456789" and t.ends == 1 and h.urcs == [b"IPREAD: 2"]


STREAM = (
    b"\r\nRDY\r\n" + b'\r\n+IPURC: "recv",0,12\r\n\r\nOK\r\nERROR\r\n\r\n'
    + b"\r\nIPREAD: 3\r\n" + b'\r\n+IPURC: "recv",5,3\r\n+++\r\n' + b'\r\n+IPURC: "closed",0\r\n'
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_any_fragmentation_gives_the_same_result(sizes):
    e, h = engine_for()
    feed_in_chunks(e, STREAM, sizes)
    assert bytes(h.targets[0].data) == b"\r\nOK\r\nERROR\r"
    assert bytes(h.targets[5].data) == b"+++"
    assert h.urcs == [b"RDY", b"IPREAD: 3", b'+IPURC: "closed",0']


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([None, 0, 2, 5]))
def test_fuzz_random_bytes_never_raise(data, fmt):
    for cls in (NM28, L610):
        e, h = engine_for(cls, fmt if cls is L610 else None)
        e.start(Command(b"AT+X", prefix=b""))
        e.feed(data)
        e.feed(b"\r\n")
        assert e._ln == 0 or e._ln <= e._max


def test_fuzz_mutated_module_output_long_run():
    rnd = random.Random(1234)
    pieces = [STREAM, b"\r\n+MIPRTCP: 1,5,abcde\r\n", b"\r\n+MIPDATA: 2,3\r\nxyz\r\nOK\r\n", b"\r\n>",
              b"\r\n+CME ERROR: 3\r\n", bytes(range(256))]
    for cls, fmt in ((NM28, None), (L610, 2), (L610, 0)):
        e, h = engine_for(cls, fmt)
        for _ in range(3000):
            p = bytearray(rnd.choice(pieces))
            for _ in range(rnd.randrange(3)):
                if p:
                    p[rnd.randrange(len(p))] = rnd.randrange(256)
            if rnd.random() < 0.3:
                e.start(Command(b"AT+X", prefix=b"+", prompt=rnd.choice([None, b">", b"CONNECT"])))
            e.feed(bytes(p))
            assert 0 <= e._ln <= e._max and 0 <= e.pay.need <= 4096


def test_a_receive_format_switch_applies_from_the_byte_after_its_ok():
    """L610: the OK of AT+GTSET="IPRFMT",2 and the first raw push share one UART read;
    the push must be framed in the new format, not read as a line (and lost)."""
    from atmodem.dialects.shared_format import FormatSwitch

    e, h = engine_for(L610, fmt=5)
    c = FormatSwitch(b'AT+GTSET="IPRFMT",2', h.d.format, 2)
    e.start(c)
    e.feed(b'\r\nOK\r\n\r\n+MIPRTCP: 1,7,a\r\nb,c\r\r\n\r\n')
    assert c.ok() and h.d.fmt == 2
    assert bytes(h.targets[1].data) == b"a\r\nb,c\r" and h.urcs == [] and not h.framings


def test_a_push_after_a_data_waiting_urc_keeps_a_leading_lf():
    """L610: a `+MIPREAD` URC (the module holds data, IPRFMT 5) ends with CR LF and starts
    no payload; after the switch back to push, the first pushed payload begins with LF.
    That LF is data: it used to be taken for the URC's line end, so the payload lost its
    first byte and took the CR after it instead (same length, other bytes)."""
    from atmodem.dialects.shared_format import FormatSwitch

    e, h = engine_for(L610, fmt=5)
    h.d.links[1] = _Holder()
    c = FormatSwitch(b'AT+GTSET="IPRFMT",2', h.d.format, 2)
    e.start(c)
    e.feed(b"\r\n+MIPREAD: 1,100\r")
    e.feed(b"\n\r\nOK\r\n\r\n+MIPRTCP: 1,3,\nab\r\n")
    assert c.ok() and h.d.fmt == 2 and h.d.links[1].waiting == 1
    assert bytes(h.targets[1].data) == b"\nab"


class _Holder:
    """A socket as the dialect sees it: told when the module holds data for it."""

    waiting = 0
    mode = "push"

    def __init__(self):
        self.inbox = self

    def data_waiting(self):
        self.waiting += 1


def test_a_hex_data_line_too_long_to_read_is_an_error_on_its_socket():
    """L610 IPRFMT 0: a line longer than the line buffer is dropped to stay in sync; its
    socket must hear it lost data (ENOBUFS), not carry on with a gap."""
    e, h = engine_for(L610, fmt=0)
    spilled = []
    h.targets[3] = Target()
    h.targets[3].rx_spill = lambda: spilled.append(3)
    e.feed(b"\r\n+MIPRTCP: 3,0," + b"41" * 3000 + b"\r\n\r\n+MIPSTAT: 3,1\r\n")
    assert spilled == [3] and e.overflows == 1 and h.urcs == [b"+MIPSTAT: 3,1"]


def test_hex_data_lines_are_decoded_in_place():
    """L610 IPRFMT 0, TCP and UDP, a line split across feeds, and the end of a datagram."""
    e, h = engine_for(L610, fmt=0)
    stream = (b"\r\n+MIPRTCP: 1,3,616263\r\n\r\n+MIPRUDP: 10.0.0.1,53,2,0,00ff0d0a\r\n"
              b"\r\n+MIPRTCP: 1,0,\r\n\r\n+MIPRTCP: 1,x,41\r\n\r\n+MIPSTAT: 1,1\r\n")
    feed_in_chunks(e, stream, [7, 1, 30, 2, 11])
    assert bytes(h.targets[1].data) == b"abc" and h.targets[1].ends == 1
    assert bytes(h.targets[2].data) == b"\x00\xff\r\n" and h.targets[2].ends == 1
    assert h.targets[2].rx_addr == ("10.0.0.1", 53)
    # a data line whose header cannot be read is a framing doubt (its data is somebody's)
    assert h.urcs == [b"+MIPSTAT: 1,1"] and [w[:30] for _, w, _ in h.framings] == ["a data header that cannot be r"]


def test_the_line_buffer_grows_without_losing_a_partial_line():
    """The line buffer is small until a dialect needs long lines (L610 hex): growing it
    between two pieces of a line keeps the first piece."""
    h = Recorder(L610)
    e = Engine(h, 24)
    h.d.install(e)
    h.d.fmt = 0  # hex data lines, read with the line buffer as it is (no switch grew it)
    e.inline_prefix = b""
    long_line = b"+MIPRTCP: 1,0," + b"41" * 20
    e.feed(b"\r\n" + long_line[:20])
    e.line_room(64)
    e.feed(long_line[20:] + b"\r\n")
    assert bytes(h.targets[1].data) == b"A" * 20 and e.overflows == 0
    e.feed(b"\r\n+MIPRTCP: 1,0," + b"42" * 40 + b"\r\n")  # 94 bytes: too long even now
    assert e.overflows == 1 and bytes(h.targets[1].data) == b"A" * 20
