"""A library written for the `socket` module, as a user's would be: it imports it at its top
and uses it at call time (host_tests/mp_dropin.py loads it with modem.sockets())."""
import socket


def echo(host, port, data):
    s = socket.create_connection((host, port), 10)
    try:
        s.sendall(data)
        return s.recv(len(data))
    finally:
        s.close()
