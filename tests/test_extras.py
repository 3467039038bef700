"""Each command runs with the package's base requirements plus the one extra it documents.

Every scenario runs in a fresh interpreter in which every installed distribution that
``pip install 'arbiter-video[EXTRA]'`` would not install (directly or through the
requirements of what it installs) cannot be imported, and imports what the command imports
(or runs it). Optional imports a library guards (httpx loads its CLI when click and rich
happen to be there) fail quietly, as they would in a real install; a module the command
needs fails the scenario. The packaging tests (``tests/packaging``) run ``deploy`` and
``dev`` for real in fresh virtual environments.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

OURS = {
    "arbiter_protocol",
    "arbiter_rtc",
    "arbiter_client",
    "arbiter_server",
    "arbiter_tui",
    "arbiter_admin",
}

# extra -> {command: code that loads what the command loads when it runs}
SCENARIOS: dict[str | None, dict[str, str]] = {
    None: {
        "python sdk": "import arbiter_client, arbiter_client.sync",
        "server sdk": "import arbiter_admin; arbiter_admin.Admin('http://127.0.0.1:1', 'k')",
    },
    "aws": {
        "arbiter-server --help": "from arbiter_server.cli import main; main(['--help'])",
        "arbiter-server deploy --help": (
            "from arbiter_server.cli import main; main(['deploy', '--help'])"
        ),
        "arbiter-server deploy": (
            "import arbiter_server.cli, arbiter_server.infra.cli, arbiter_server.infra.deployer,"
            " arbiter_server.infra.executor, arbiter_server.infra.awsclient, rich.progress"
        ),
    },
    "server": {
        "arbiter-server dev --help": "from arbiter_server.cli import main; main(['dev', '--help'])",
        "arbiter-server dev": (
            "import arbiter_server.cli, arbiter_server.local, arbiter_server.demo_bot"
        ),
        "python -m arbiter_server.sfu": "import arbiter_server.sfu.cli",
    },
    "tui": {"arbiter-tui": "import arbiter_tui.cli, arbiter_tui.app"},
    "notebook": {"notebook view": "import arbiter_client._notebook as n; n._widgets()"},
}

PROBE = """
import contextlib, io, json, sys
for name in json.loads(sys.argv[2]):
    sys.modules[name] = None  # not installed: importing it raises ModuleNotFoundError
for command, code in json.loads(sys.argv[1]).items():
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --help texts
            exec(code)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    except Exception:
        print(f"{command}:", file=sys.stderr)
        raise
"""


def _requirements(dist: str, extra: str | None) -> list[str]:
    """Names of the installed distributions ``dist`` (with ``extra``) requires."""
    out = []
    for text in distribution(dist).requires or []:
        req = Requirement(text)
        env = {"extra": extra or ""}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        out.append(canonicalize_name(req.name))
    return out


def closure(extra: str | None) -> set[str]:
    """``arbiter-video`` (with ``extra``) and everything it pulls in that is installed."""
    todo = [(canonicalize_name("arbiter-video"), extra)]
    seen: set[str] = set()
    while todo:
        name, with_extra = todo.pop()
        key = f"{name}[{with_extra}]" if with_extra else name
        if key in seen:
            continue
        seen.add(key)
        try:
            deps = _requirements(name, with_extra)
        except PackageNotFoundError:
            continue  # required only on other platforms or Pythons
        if with_extra:  # the extra's own requirements and the base ones
            todo.append((name, None))
        for text in distribution(name).requires or []:
            req = Requirement(text)
            if canonicalize_name(req.name) in deps:
                for sub in req.extras or {None}:
                    todo.append((canonicalize_name(req.name), sub))
    return {key.partition("[")[0] for key in seen}


def not_installed(extra: str | None) -> list[str]:
    """Top-level modules of the installed distributions ``arbiter-video[extra]`` lacks."""
    allowed = closure(extra)
    return sorted(
        module
        for module, dists in packages_distributions().items()
        if module not in OURS and not {canonicalize_name(d) for d in dists} & allowed
    )


@pytest.mark.parametrize("extra", list(SCENARIOS), ids=lambda e: e or "base")
def test_commands_need_only_their_extra(extra: str | None) -> None:
    blocked = not_installed(extra)
    assert blocked, "the dev environment has more than any one extra installs"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(SCENARIOS[extra]), json.dumps(blocked)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    need = f"arbiter-video[{extra}]" if extra else "arbiter-video"
    assert out.returncode == 0, f"needs more than {need}:\n{out.stderr[-2000:]}"


def test_a_command_without_its_extra_says_which_to_install() -> None:
    """``dev`` where aiohttp cannot be imported: the extra to install, exit code 1."""
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from arbiter_server.cli import main\n"
        "raise SystemExit(main(['dev', '--port', '0']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert "pip install 'arbiter-video[server]'" in out.stderr
