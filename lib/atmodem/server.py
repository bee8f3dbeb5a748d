"""Server sockets (the dialect's SERVER): bind, listen and accept for the program's Socket,
and the link of a client the module accepted. Used now and then, so loaded when needed and
let go after (compat.cold)."""
from .checks import check_port
from .errors import EAGAIN, EDESTADDRREQ, EINVAL, EISCONN, ENOTCONN, ModemError
from .flow import once
from .states import AF_INET, CLOSED, OPEN, SOCK_STREAM


def bind(sock, addr):
    host, port = addr
    if host not in ("", "0.0.0.0"):
        raise ValueError("the module listens on all its addresses: bind to '0.0.0.0'")
    check_port(port)
    sock._usable()
    k = sock.link
    if k.state != CLOSED:
        raise ModemError(EISCONN, "socket is already open")
    k.lport = port
    if not k.stream:
        if k.mode == "transparent":
            raise ValueError("a bound UDP socket cannot be transparent; use push or buffer")
        sock._m.run(once("table", "listen", sock._m, k))  # a bound UDP socket receives at once


def listen(sock):
    k = sock.link
    if not k.stream:
        raise ModemError(EISCONN, "listen() is for SOCK_STREAM sockets")
    if not k.lport:
        raise ModemError(EDESTADDRREQ, "bind((\"0.0.0.0\", port)) before listen()")
    if k.mode == "transparent":
        raise ValueError("a listener cannot be transparent; accept() and use push or buffer")
    sock._m.run(once("table", "listen", sock._m, k))


def accept(sock, socket_class):
    sock._usable()
    k = sock.link
    if not k.listening:
        raise ModemError(EINVAL, "accept() on a socket that is not listening")

    def client():
        return bool(k.incoming) or k.inbox.error is not None

    if not sock._wait(client, "accept"):
        raise ModemError(EAGAIN, "no client yet")
    if not k.incoming:
        raise k.inbox.error or ModemError(ENOTCONN, "the listener was closed")
    c = k.incoming.pop(0)
    s = socket_class(sock._m, AF_INET, SOCK_STREAM, c.mode, None, c.inbox.cap, c)
    s.settimeout(sock._timeout)
    return s, c.peer


def accepted(listener, sid, addr):
    """A listener: the module accepted a client as id sid; its link (the listener's mode
    and ring size), queued for accept()."""
    from .link import Link

    c = Link(listener.m, SOCK_STREAM, listener.mode, None, listener.inbox.cap)
    c.id = sid
    c.state = OPEN
    c.opened = True
    c.peer = addr
    c.lport = listener.lport
    c.inbox.want_hold = listener.mode == "buffer"
    listener.incoming.append(c)
    return c
