"""tools/mplibs fetches pinned sdists from a simple index, checks their hashes, unpacks only
the module files, and leaves the network alone once they are there."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from tools import mplibs


def sdist(top: str, files: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(top + "/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def index(root, pin: mplibs.Pin, data: bytes, given_sha: str = "") -> str:
    """A PEP 503 index under root with one file for pin; returns its file:// URL."""
    page = root / "simple" / "micropython-umqtt-simple"
    page.mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / pin.filename).write_bytes(data)
    sha = given_sha or hashlib.sha256(data).hexdigest()
    (page / "index.html").write_text(
        '<html><body><a href="../../files/%s#sha256=%s">%s</a></body></html>' % (pin.filename, sha, pin.filename))
    return (root / "simple").as_uri()


DATA = sdist("micropython-umqtt.simple-9.9", {"umqtt/simple.py": b"X = 1\n", "PKG-INFO": b"meta"})
PIN = mplibs.Pin("micropython-umqtt.simple", "9.9", hashlib.sha256(DATA).hexdigest(), ("umqtt/simple.py",))


def test_fetches_unpacks_only_the_modules_then_stays_offline(tmp_path):
    url = index(tmp_path / "idx", PIN, DATA)
    dest = str(tmp_path / "libs")
    missing = (tmp_path / "nowhere").as_uri()
    assert mplibs.ensure(dest, (PIN,), [missing, url]) == dest  # the first index lacks it
    assert open(os.path.join(dest, "umqtt", "simple.py"), "rb").read() == b"X = 1\n"
    assert sorted(os.listdir(dest)) == [".micropython-umqtt.simple-9.9.sha256", "umqtt"]
    mplibs.ensure(dest, (PIN,), [missing])  # already there: no index is asked


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    other = sdist("micropython-umqtt.simple-9.9", {"umqtt/simple.py": b"evil()\n"})
    url = index(tmp_path / "idx", PIN, other, given_sha=PIN.sha256)  # the page is right, the file is not
    with pytest.raises(mplibs.FetchError, match="downloaded file has sha256 %s, pinned" % hashlib.sha256(other).hexdigest()):
        mplibs.ensure(str(tmp_path / "libs"), (PIN,), [url])
    assert not (tmp_path / "libs").exists()


def test_an_index_giving_another_hash_is_refused(tmp_path):
    url = index(tmp_path / "idx", PIN, DATA, given_sha="0" * 64)
    with pytest.raises(mplibs.FetchError, match="gives sha256 0{64}, pinned"):
        mplibs.ensure(str(tmp_path / "libs"), (PIN,), [url])


def test_not_on_any_index_names_the_pages_tried(tmp_path):
    a, b = (tmp_path / "a").as_uri(), (tmp_path / "b").as_uri()
    with pytest.raises(mplibs.FetchError, match="micropython-umqtt.simple-9.9.tar.gz not found.*/a/micropython-umqtt-simple/.*/b/"):
        mplibs.ensure(str(tmp_path / "libs"), (PIN,), [a, b])


def test_an_sdist_without_the_module_says_which(tmp_path):
    data = sdist("micropython-umqtt.simple-9.9", {"PKG-INFO": b"meta"})
    pin = PIN._replace(sha256=hashlib.sha256(data).hexdigest())
    url = index(tmp_path / "idx", pin, data)
    with pytest.raises(mplibs.FetchError, match="has no file micropython-umqtt.simple-9.9/umqtt/simple.py"):
        mplibs.ensure(str(tmp_path / "libs"), (pin,), [url])
