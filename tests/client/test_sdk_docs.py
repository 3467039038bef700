"""docs/python-sdk.md covers the public API: every name in ``arbiter_client.__all__``, and
every attribute, method and keyword argument of the SDK that the examples, the notebook and
the README use (``room.participants``, ``room.wait_closed()``, ``video_size=``,
``recorder.frames_written``, ...). A name counts as documented when it appears in a code
span or a code block of the guide."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
from pathlib import Path

import arbiter_client

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "python-sdk.md"
EXAMPLES = [
    # app_backend.py uses the server SDK (arbiter_admin), documented in docs/embedding.md
    *sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "app_backend.py"),
    ROOT / "examples" / "notebook.ipynb",
    ROOT / "README.md",
]


def documented_names() -> set[str]:
    """Identifiers inside code spans and code blocks of the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    code = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return {word for chunk in code + spans for word in re.findall(r"[A-Za-z_]\w*", chunk)}


def api_vocabulary() -> set[str]:
    """Public attribute, method, field and parameter names of the SDK's exported classes."""
    names: set[str] = set()
    for export in arbiter_client.__all__:
        member = getattr(arbiter_client, export)
        if not inspect.isclass(member):
            continue
        if dataclasses.is_dataclass(member):
            names |= {f.name for f in dataclasses.fields(member)}
        for attr, value in inspect.getmembers(member):
            owner = next((c for c in member.__mro__ if attr in c.__dict__), member)
            if attr.startswith("_") or not owner.__module__.startswith("arbiter_client"):
                continue  # aiortc's MediaStreamTrack.stop and the like are aiortc's to document
            names.add(attr)
            func = getattr(value, "__func__", value)
            if callable(func) and not inspect.isclass(func):
                try:
                    params = inspect.signature(func).parameters
                except (TypeError, ValueError):
                    continue
                names |= {p for p in params if p not in ("self", "cls")}
        # attributes set in __init__ (documented with an attribute docstring)
        init = member.__dict__.get("__init__")
        if init is not None and inspect.isfunction(init) and not dataclasses.is_dataclass(member):
            source = inspect.getsource(init)
            names |= set(re.findall(r"self\.([a-z]\w*)\s*[:=]", source))
    return names


def used_in_examples() -> dict[str, set[str]]:
    """Attribute names and keyword arguments each example uses."""
    used: dict[str, set[str]] = {}
    for path in EXAMPLES:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        elif path.suffix == ".md":
            sources = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
        else:
            sources = [path.read_text()]
        names: set[str] = set()
        for source in sources:
            tree = ast.parse(source.replace("await ", "") if path.suffix == ".ipynb" else source)
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.keyword) and node.arg:
                    names.add(node.arg)
        used[path.relative_to(ROOT).as_posix()] = names
    return used


def test_every_exported_name_is_in_the_guide() -> None:
    missing = sorted(set(arbiter_client.__all__) - documented_names() - {"__version__"})
    assert missing == [], f"docs/python-sdk.md does not mention {missing}"


def test_every_sdk_name_the_examples_use_is_in_the_guide() -> None:
    vocabulary = api_vocabulary()
    documented = documented_names()
    missing = {
        example: sorted((names & vocabulary) - documented)
        for example, names in used_in_examples().items()
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_the_vocabulary_sees_what_the_examples_use() -> None:
    """The check above is not empty: the names the issue found undocumented are in it."""
    vocabulary = api_vocabulary()
    used = set().union(*used_in_examples().values())
    wanted = {"participants", "wait_closed", "video_size", "frames_written", "publish_track"}
    assert wanted <= vocabulary & used
