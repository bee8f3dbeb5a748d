"""Certificates for the TLS tests, made fresh by trustme: nothing secret is committed."""
from __future__ import annotations

import datetime
import os
import ssl

import trustme

# RSA keys so that every cipher suite of the NM28 manual can be negotiated.
RSA = trustme.KeyType.RSA


class Certs:
    def __init__(self, directory: str):
        self.dir = directory
        self.ca = trustme.CA(key_type=RSA)
        self.other_ca = trustme.CA(key_type=RSA)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.good = self.ca.issue_cert("localhost", "127.0.0.1", key_type=RSA)
        self.expired = self.ca.issue_cert(
            "localhost", "127.0.0.1", key_type=RSA,
            not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1),
        )
        self.wrong_name = self.ca.issue_cert("wrong.example", key_type=RSA)
        self.foreign = self.other_ca.issue_cert("localhost", "127.0.0.1", key_type=RSA)
        self.client = self.ca.issue_cert("device-1", key_type=RSA)
        self.ca.cert_pem.write_to_path(os.path.join(directory, "ca.crt"))
        self.other_ca.cert_pem.write_to_path(os.path.join(directory, "other_ca.crt"))
        self.client.cert_chain_pems[0].write_to_path(os.path.join(directory, "client.crt"))
        self.client.private_key_pem.write_to_path(os.path.join(directory, "client.key"))

    def server_context(self, which: str = "good", require_client: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        getattr(self, which).configure_cert(ctx)
        # Accept the manual's RSA-key-exchange suites too: the client side picks what it offers.
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(ctx)
        return ctx


def make(directory: str) -> Certs:
    return Certs(directory)
