"""umqtt.simple, unmodified, with ssl=True through TLS in the module (modem.sockets().install_tls()):
micropython host_tests/mp_mqtt_tls.py <tty> <dialect> <broker port> <ca.crt path>
The L610 and a Quectel take the CA the program gives umqtt (ssl_params cadata); the NM28 the
name of the file it stores (install_tls(ca="ca.crt"))."""
import sys

import atmodem

path, dialect, port, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
m.attach(apn="cmnet")
sm = m.sockets()
if dialect == "nm28":  # it takes no uploads: the file it stores
    shim = sm.install_tls(ca="ca.crt")
    params = {"cert_reqs": shim.CERT_REQUIRED, "server_hostname": "localhost"}
else:
    shim = sm.install_tls()
    with open(ca, "rb") as f:
        params = {"cert_reqs": shim.CERT_REQUIRED, "cadata": f.read(), "server_hostname": "localhost"}
simple = sm.load("umqtt.simple")
got = []
c = simple.MQTTClient("atmodem-tls", "localhost", port=port, ssl=True, ssl_params=params)
c.set_callback(lambda topic, msg: got.append(msg))
c.connect()
c.subscribe(b"atmodem/tls")
for i in range(3):
    c.publish(b"atmodem/tls", b"over module TLS %d" % i + b"x" * 2000)
while len(got) < 3:
    c.wait_msg()
assert got == [b"over module TLS %d" % i + b"x" * 2000 for i in range(3)], got
c.disconnect()
print("PASS", m.dialect.NAME, type(c.sock).__name__, c.sock.link.tls is not None)
