"""The package layering of docs/architecture.md, checked on the imports themselves (ast).

Every import statement counts, wherever it stands (module level, inside a function, under
``if TYPE_CHECKING:``): a type-only import is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "arbiter_protocol": ROOT / "arbiter_protocol",
    "arbiter_rtc": ROOT / "arbiter_rtc",
    "arbiter_client": ROOT / "arbiter_client",
    "arbiter_server": ROOT / "arbiter_server",
    "arbiter_tui": ROOT / "apps" / "tui" / "arbiter_tui",
    "arbiter_admin": ROOT / "arbiter_admin",
}
ALLOWED: dict[str, set[str]] = {
    "arbiter_protocol": set(),
    "arbiter_rtc": {"arbiter_protocol"},
    "arbiter_client": {"arbiter_protocol", "arbiter_rtc"},
    "arbiter_server": {"arbiter_protocol", "arbiter_rtc"},
    "arbiter_tui": {"arbiter_protocol", "arbiter_client"},
    "arbiter_admin": {"arbiter_protocol"},
}
"Which of our packages each package may import (docs/architecture.md, 'Packages')."

SERVER_USES_CLIENT = {"arbiter_server/demo_bot.py", "arbiter_server/smoke.py"}
"The server modules that run a client: the demo bot and the smoke command."

KNOWN_CYCLES: list[list[str]] = []
"""Cycles being removed elsewhere (none left: the Lambda's composition root moved out of
the deployer to arbiter_server/aws.py); no new entry may be added."""


@dataclass(frozen=True)
class Import:
    source: str
    "The importing module's path, relative to the repository."
    module: str
    "The imported module, absolute (``arbiter_client._room``)."
    line: int


def module_name(package: str, path: Path) -> str:
    parts = path.relative_to(PACKAGES[package]).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def imports() -> Iterator[Import]:
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            name = module_name(package, path)
            is_package = path.name == "__init__.py"
            here = name.split(".") if is_package else name.split(".")[:-1]
            source = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(), source)):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield Import(source, alias.name, node.lineno)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = here[: len(here) - (node.level - 1)]
                        target = ".".join(base + ([node.module] if node.module else []))
                    else:
                        target = node.module or ""
                    yield Import(source, target, node.lineno)
                    for alias in node.names:  # ``from . import x`` may name a module
                        yield Import(source, f"{target}.{alias.name}", node.lineno)


def top(module: str) -> str:
    return module.split(".")[0]


def known_modules() -> dict[str, str]:
    """Every module of our packages -> its path."""
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            out[module_name(package, path)] = str(path.relative_to(ROOT))
    return out


def test_packages_import_only_what_their_layer_allows() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.module}"
        for i in imports()
        if top(i.module) in PACKAGES
        and top(i.module) != top(module_name_of(i.source))
        and top(i.module) not in ALLOWED[top(module_name_of(i.source))]
        and not (top(i.module) == "arbiter_client" and i.source in SERVER_USES_CLIENT)
    ]
    assert wrong == []


def test_the_server_runs_a_client_only_in_the_demo_bot_and_the_smoke_command() -> None:
    users = {i.source for i in imports() if top(i.module) == "arbiter_client"}
    assert {u for u in users if u.startswith("arbiter_server/")} == SERVER_USES_CLIENT


def test_private_modules_stay_inside_their_package() -> None:
    """``pkg._mod`` is imported only from inside ``pkg`` (the gateway used a lambdas one)."""
    wrong = []
    for i in imports():
        parts = i.module.split(".")
        private = next(
            (k for k, p in enumerate(parts) if k and p.startswith("_") and not p.startswith("__")),
            None,
        )
        if private is None:
            continue
        owner = ".".join(parts[:private])
        source = module_name_of(i.source)
        if source != owner and not source.startswith(owner + "."):
            wrong.append(f"{i.source}:{i.line} imports {i.module}")
    assert wrong == []


def module_name_of(source: str) -> str:
    for package, folder in PACKAGES.items():
        path = ROOT / source
        if path.is_relative_to(folder):
            return module_name(package, path)
    raise AssertionError(source)


def test_no_import_cycle() -> None:
    modules = known_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for i in imports():
        source = module_name_of(i.source)
        if i.module in modules and i.module != source:
            graph[source].add(i.module)
    # a package's __init__ re-exports its modules: importing the package is not a cycle
    # with them, so edges from a package __init__ into its own subtree are left out
    for name in graph:
        if modules[name].endswith("__init__.py"):
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    cycles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert [c for c in cycles if c not in KNOWN_CYCLES] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


MAX_LINES = 600
"No hand-written module is longer: past that, it holds more than one job."
TOO_LONG_FOR_NOW: set[str] = set()
"Modules being split elsewhere (none left: the planner became a package)."


def test_no_module_is_longer_than_600_lines() -> None:
    sources = [p for folder in PACKAGES.values() for p in folder.rglob("*.py")]
    web = ROOT / "apps" / "web-sdk" / "src"
    sources += [
        p
        for p in web.rglob("*.ts*")
        if p.suffix in (".ts", ".tsx") and ".test." not in p.name and "test-utils" not in p.parts
    ]
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {k: v for k, v in long.items() if k not in TOO_LONG_FOR_NOW} == {}
