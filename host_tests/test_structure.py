"""The package's shape, as docs/adding-a-module.md promises it: no import circle (imports
inside functions count), no file over 400 lines, and no module named outside
lib/atmodem/dialects/ (the registry there is the one place)."""
from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
PKG = os.path.join(LIB, "atmodem")


def modules():
    for dirpath, _, files in os.walk(PKG):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, LIB)[:-3].replace(os.sep, ".")
                yield (rel[: -len(".__init__")] if rel.endswith(".__init__") else rel), path


def imports(name, path):
    """Every atmodem module name imports, at any depth of its code."""
    tree = ast.parse(open(path).read())
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            mod = node.module if node.level == 0 else (base + "." + node.module if node.module else base)
            if mod and mod.startswith("atmodem"):
                names = [a.name for a in node.names]
                for n in names:  # `from . import table` imports a module
                    out.add(mod + "." + n if (mod + "." + n) in ALL else mod)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("atmodem"):
                    out.add(a.name)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)
    # a package's submodule import runs the package first, but that is no edge of ours
    return {m for m in out if m in ALL and m != name}


ALL = dict(modules())


def test_no_import_circle():
    graph = {n: imports(n, p) for n, p in ALL.items()}
    seen, stack, circles = set(), [], []

    def visit(n):
        if n in stack:
            circles.append(stack[stack.index(n):] + [n])
            return
        if n in seen:
            return
        seen.add(n)
        stack.append(n)
        for m in sorted(graph[n]):
            visit(m)
        stack.pop()

    for n in sorted(graph):
        visit(n)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_no_file_over_400_lines():
    long = ["%s: %d lines" % (n, len(open(p).read().splitlines())) for n, p in ALL.items()
            if len(open(p).read().splitlines()) > 400]
    assert not long, long


def _strings(tree) -> "list[ast.Constant]":
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                docs.add(id(node.body[0].value))
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and id(node) not in docs]


def test_no_module_named_outside_the_dialects():
    from atmodem import dialects

    names = [n.lower() for n in dialects.names()]
    found = []
    for n, p in ALL.items():
        if n.startswith("atmodem.dialects"):
            continue
        for node in _strings(ast.parse(open(p).read())):
            raw = node.value
            v = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
            for name in names:
                if name in v.lower():
                    found.append("%s:%d %r" % (n, node.lineno, v))
    assert not found, found
