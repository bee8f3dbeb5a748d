"""Write package.json (what `mip install` fetches) from the files in lib/atmodem:
python -m tools.package_json [--check]"""
from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPYTHON_ONLY = ("atmodem/hal/pyserial_port.py", "atmodem/errors_cpython.py")


def version() -> str:
    with open(os.path.join(ROOT, "lib", "atmodem", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split('"')[1]
    raise RuntimeError("no __version__")


def manifest() -> dict:
    urls = []
    base = os.path.join(ROOT, "lib")
    for dirpath, _, files in os.walk(os.path.join(base, "atmodem")):
        for f in sorted(files):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), base).replace(os.sep, "/")
                if rel not in CPYTHON_ONLY:
                    urls.append([rel, "lib/" + rel])
    urls.sort()
    return {"urls": urls, "deps": [], "version": version(), "license": "MIT"}


def text() -> str:
    return json.dumps(manifest(), indent=2) + "\n"


def main(argv) -> int:
    path = os.path.join(ROOT, "package.json")
    if "--check" in argv:
        with open(path) as f:
            return 0 if f.read() == text() else 1
    with open(path, "w") as f:
        f.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
