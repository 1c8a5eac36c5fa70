"""The layout holds: imports run one way (no circles, storage below the hub), every reason the
hub gives is in the one list, and the check-in record's columns are declared once."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from hub.domain.records import RecordState
from hub.errors import REASONS, HubError
from hub.realtime.protocol import Close
from storage.records import RECORD_STATE
from storage.tables import T_RECORDS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "storage")


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> tuple[set[str], list[str]]:
    """(the project modules ``name`` imports at module level, imports made inside a def)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    local: list[str] = []

    def targets(node: ast.Import | ast.ImportFrom) -> set[str]:
        out = set()
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != name:
                out.add(n)
        return out

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)) and targets(inner):
                    local.append(f"{name}:{inner.lineno}")
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= targets(node)
        elif isinstance(node, ast.If):  # e.g. ``if TYPE_CHECKING:`` counts all the same
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    found |= targets(inner)
    return found, local


def graph() -> tuple[dict[str, set[str]], list[str]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {}
    local: list[str] = []
    for name, path in mods.items():
        edges[name], loc = imports_of(name, path, known)
        local += loc
    # A package's __init__ is imported before any of its modules: a module importing its own
    # package is not a circle unless the __init__ imports something back.
    return edges, local


def test_no_import_circles_in_hub_or_storage() -> None:
    edges, _ = graph()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if m.startswith(n + "."):  # a package's own modules
                continue
            if state.get(m) == 1:
                circles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [])
    assert circles == []


def test_no_import_inside_a_function() -> None:
    _, local = graph()
    assert local == []


def test_storage_imports_nothing_from_the_hub() -> None:
    edges, _ = graph()
    leaks = {m: sorted(t for t in targets if t.split(".")[0] == "hub")
             for m, targets in edges.items() if m.split(".")[0] == "storage"}
    assert {m: t for m, t in leaks.items() if t} == {}


def test_sql_lives_in_storage() -> None:
    offenders = []
    for name, path in modules().items():
        if name.startswith("hub"):
            text = path.read_text()
            if re.search(r"^(import sqlalchemy|from storage\.tables import)", text, re.M):
                offenders.append(name)
    assert offenders == []


def test_the_record_columns_are_declared_once_by_the_table() -> None:
    state = {f.name for f in dataclasses.fields(RecordState)}
    assert state - {"id", "attendee_id", "evaluation_complete"} == set(RECORD_STATE)
    assert set(RECORD_STATE) <= {c.name for c in T_RECORDS.c}


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_reason_the_hub_gives_is_in_the_one_list() -> None:
    given: set[str] = set()
    for sub in _subclasses(HubError):
        if isinstance(getattr(sub, "reason", None), str):
            given.add(sub.reason)
    for path in modules().values():
        text = path.read_text()
        given |= set(re.findall(r'reason="([a-z_]+)"', text))
        given |= set(re.findall(r'_error\(node, c, "([a-z_]+)"', text))
        given |= set(re.findall(r'BadFrame\("([a-z_]+)"', text))
        given |= set(re.findall(r'CheckinRefused\("([a-z_]+)"', text))
    assert sorted(given - set(REASONS)) == []
    closes = {r.close for r in REASONS.values()}
    assert sorted(c for c in Close if c is not Close.NORMAL and c.value not in closes) == []
