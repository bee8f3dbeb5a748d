"""MicroPython libraries that pip cannot install, fetched through pip's own configured index.

The umqtt sdists on the package index are plain tarballs without setup.py or pyproject.toml,
so `pip install` and `pip download` refuse them. This reads pip's index settings, finds the
pinned file on the index's simple page, checks its sha256 (the one pinned here, and the one
the index gives), and unpacks only the module files into one directory for MICROPYPATH.

    python -m tools.mplibs          # prints that directory (downloads only what is missing)
"""
from __future__ import annotations

import fcntl
import hashlib
import html
import io
import os
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".venv", "mplibs")
PYPI = "https://pypi.org/simple"


class Pin(NamedTuple):
    project: str
    version: str
    sha256: str
    modules: Tuple[str, ...]  # paths inside the sdist's top directory that we keep

    @property
    def filename(self) -> str:
        return "%s-%s.tar.gz" % (self.project, self.version)


PINS = (
    # micropython-lib's umqtt.simple as its maintainers last put it on the index
    Pin("micropython-umqtt.simple", "1.3.4",
        "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f",
        ("umqtt/simple.py",)),
    Pin("micropython-umqtt.simple2", "2.2.0",
        "48fd4da7701b95986293b06d343fbc564ebe7dfa82f5c8c09364c20df755f0e4",
        ("umqtt/__init__.py", "umqtt/errno.py", "umqtt/simple2.py")),
)


class FetchError(RuntimeError):
    pass


def pip_indexes() -> Tuple[List[str], Optional[str]]:
    """The index URLs pip would use (extra indexes first: pip prefers none, we take the first
    that has the pinned file) and the CA bundle pip is told to trust."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                         capture_output=True, text=True, check=False).stdout
    settings: Dict[str, List[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        settings.setdefault(name, []).extend(value.strip().strip("'\"").split())
    index = settings.get("index-url", [PYPI])[-1:]
    cert = settings.get("cert", [None])[-1]
    return settings.get("extra-index-url", []) + index, cert


def links(page: str, base: str) -> Iterator[Tuple[str, str]]:
    """(file name, absolute URL with its #sha256= fragment) for each link of a PEP 503 page."""
    for href, text in re.findall(r'<a\s[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', page):
        yield html.unescape(text).strip(), urllib.parse.urljoin(base, html.unescape(href))


def _get(url: str, context: ssl.SSLContext) -> bytes:
    if url.startswith("file:") and url.endswith("/"):
        url += "index.html"
    with urllib.request.urlopen(url, timeout=60, context=context) as r:
        return r.read()


def download(pin: Pin, indexes: List[str], cert: Optional[str] = None) -> bytes:
    context = ssl.create_default_context(cafile=cert)
    project = re.sub(r"[-_.]+", "-", pin.project).lower()
    tried = []
    for index in indexes:
        page_url = index.rstrip("/") + "/" + project + "/"
        try:
            page = _get(page_url, context).decode("utf-8", "replace")
        except (OSError, urllib.error.URLError) as err:
            tried.append("%s (%s)" % (page_url, err))
            continue
        for name, url in links(page, page_url):
            if name != pin.filename:
                continue
            given = urllib.parse.urlparse(url).fragment
            if given.startswith("sha256=") and given[7:] != pin.sha256:
                raise FetchError("%s: the index %s gives sha256 %s, pinned %s" % (pin.filename, index, given[7:], pin.sha256))
            try:
                data = _get(url.split("#")[0], context)
            except (OSError, urllib.error.URLError) as err:
                raise FetchError("%s: download from %s failed: %s" % (pin.filename, url, err)) from err
            got = hashlib.sha256(data).hexdigest()
            if got != pin.sha256:
                raise FetchError("%s: downloaded file has sha256 %s, pinned %s" % (pin.filename, got, pin.sha256))
            return data
        tried.append("%s (no %s)" % (page_url, pin.filename))
    raise FetchError("%s not found on pip's indexes: %s" % (pin.filename, "; ".join(tried)))


def unpack(pin: Pin, data: bytes, dest: str) -> None:
    top = "%s-%s/" % (pin.project, pin.version)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for module in pin.modules:
                try:
                    member = tar.extractfile(top + module)
                except KeyError:
                    member = None
                if member is None:
                    raise FetchError("%s has no file %s" % (pin.filename, top + module))
                path = os.path.join(dest, *module.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(member.read())
    except tarfile.TarError as err:
        raise FetchError("%s is not a readable tar.gz: %s" % (pin.filename, err)) from err


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def ensure(dest: str = CACHE, pins: Tuple[Pin, ...] = PINS, indexes: Optional[List[str]] = None) -> str:
    """The directory holding every pinned library's modules; downloads only what is missing
    (a stamp per pin records what is there, so offline re-runs never reach the network).
    indexes: simple-index URLs to use instead of pip's. Processes that ask at once (test
    workers) take turns: the first fetches, the others find it there."""
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    with open(dest + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure(dest, pins, indexes)


def _ensure(dest: str, pins: Tuple[Pin, ...], indexes: Optional[List[str]]) -> str:
    cert = None
    for pin in pins:
        stamp = os.path.join(dest, ".%s-%s.sha256" % (pin.project, pin.version))
        have = all(os.path.exists(os.path.join(dest, m)) for m in pin.modules)
        if have and _read(stamp) == pin.sha256:
            continue
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        if indexes is None:
            indexes, cert = pip_indexes()
        unpack(pin, download(pin, indexes, cert), tmp)
        for d, _, files in os.walk(tmp):
            for name in files:
                src = os.path.join(d, name)
                target = os.path.join(dest, os.path.relpath(src, tmp))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(src, target)
        shutil.rmtree(tmp, ignore_errors=True)
        with open(stamp, "w") as f:
            f.write(pin.sha256)
    return dest


if __name__ == "__main__":
    try:
        print(ensure())
    except FetchError as e:
        sys.exit("mplibs: %s" % e)
