"""The Lambda zip: the modules the handlers import, from the installed packages.

The zip is built from an include list (:data:`LAMBDA_MODULES` and
:data:`LAMBDA_PACKAGES`): the AWS composition root :mod:`arbiter_server.aws`, the
handlers, the adapters they use, the protocol and ``jwt``; nothing of the SFU, the local
gateway or the deployer but its boto3 boundary, nor the protocol's command line. The
built web demo goes in as ``arbiter_server/web/`` (the room page,
:mod:`arbiter_server.lambdas.page`). A test
imports the handlers from the unzipped files alone and checks that every shipped module
is imported and nothing else is needed. The zip is deterministic (sorted entries, fixed
timestamps), so the same sources give the same bytes and the same ``CodeSha256``: an
unchanged deployment does not update its functions. It is cached under ``cache_dir`` by
the content hash of its inputs.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..lambdas.page import find_web_dir

__all__ = [
    "LAMBDA_MODULES",
    "LAMBDA_PACKAGES",
    "LambdaZip",
    "build_lambda_zip",
    "lambda_files",
    "package_files",
    "source_hash",
    "web_files",
]

LAMBDA_PACKAGES = ("jwt",)
"Third-party packages shipped whole (boto3 comes with the Lambda runtime)."

LAMBDA_MODULES = (
    "arbiter_protocol",
    "arbiter_protocol._codec",
    "arbiter_protocol._json",
    "arbiter_protocol.admin",
    "arbiter_protocol.errors",
    "arbiter_protocol.forwarding",
    "arbiter_protocol.grants",
    "arbiter_protocol.http",
    "arbiter_protocol.manifest",
    "arbiter_protocol.meeting",
    "arbiter_protocol.messages",
    "arbiter_protocol.moderation",
    "arbiter_protocol.roles",
    "arbiter_protocol.sdp",
    "arbiter_protocol.timing",
    "arbiter_protocol.webhooks",
    "arbiter_server",
    "arbiter_server.auth",
    "arbiter_server.aws",
    "arbiter_server.heartbeat",  # the launchers import it; stdlib only
    "arbiter_server.settings",
    "arbiter_server.supervisor",  # turn.py's local coturn imports it; stdlib only
    "arbiter_server.turn",
    "arbiter_server.turn_config",
    "arbiter_server.infra",
    "arbiter_server.infra.awsclient",
    "arbiter_server.infra.models",
    "arbiter_server.infra.queue_reads",
    "arbiter_server.lambdas",
    "arbiter_server.lambdas._http",
    "arbiter_server.lambdas._responses",
    "arbiter_server.lambdas.access",
    "arbiter_server.lambdas.limits",
    "arbiter_server.lambdas.lobby",
    "arbiter_server.lambdas.maintenance",
    "arbiter_server.lambdas.moderation",
    "arbiter_server.lambdas.notify",
    "arbiter_server.lambdas.page",
    "arbiter_server.lambdas.presence",
    "arbiter_server.lambdas.room_api",
    "arbiter_server.lambdas.rooms",
    "arbiter_server.lambdas.routes",
    "arbiter_server.lambdas.server_api",
    "arbiter_server.lambdas.services",
    "arbiter_server.lambdas.sessions",
    "arbiter_server.lambdas.signaling",
    "arbiter_server.lambdas.webhooks",
    "arbiter_server.launcher",
    "arbiter_server.launcher.base",
    "arbiter_server.launcher.ecs",
    "arbiter_server.launcher.subprocess",
    "arbiter_server.poster",
    "arbiter_server.poster.apigw",
    "arbiter_server.poster.base",
    "arbiter_server.poster.local",
    "arbiter_server.store",
    "arbiter_server.store._dynamo",
    "arbiter_server.store.base",
    "arbiter_server.store.dynamodb",
    "arbiter_server.store.dynamodb_sessions",
    "arbiter_server.store.dynamodb_slots",
    "arbiter_server.store.sqlite",
    "arbiter_server.webhooks",
    "arbiter_server.webhooks.base",
    "arbiter_server.webhooks.delivery",
    "arbiter_server.webhooks.local",
    "arbiter_server.webhooks.sqs",
    "arbiter_server.webhooks.target",
)
"Single modules shipped: exactly those importing :mod:`arbiter_server.aws` loads."

_MAX_ZIP = 50 * 1024 * 1024
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LambdaZip:
    """A built zip."""

    path: Path
    sha256: str
    "Base64 SHA-256 of the zip, as Lambda reports ``CodeSha256``."
    size: int

    def read(self) -> bytes:
        """The zip's bytes."""
        return self.path.read_bytes()


def _package_root(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _module_file(name: str) -> tuple[str, Path]:
    top, _, rest = name.partition(".")
    root = _package_root(top)
    base = root.joinpath(*rest.split(".")) if rest else root
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not path.is_file():
        raise RuntimeError(f"module {name!r} is not installed")
    return f"{top}/{path.relative_to(root).as_posix()}", path


def package_files(packages: Iterable[str]) -> list[tuple[str, Path]]:
    """``(name in the zip or image, path)`` of every ``.py``/``py.typed`` file of packages."""
    out: list[tuple[str, Path]] = []
    for name in packages:
        root = _package_root(name)
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix not in (".py", ".typed"):
                continue
            out.append((f"{name}/{path.relative_to(root).as_posix()}", path))
    out.sort()
    return out


def web_files() -> list[tuple[str, Path]]:
    """``(name in the zip, path)`` of the built web demo, under ``arbiter_server/web/``."""
    web_dir = find_web_dir()
    if web_dir is None:
        raise RuntimeError(
            "the web demo page is not built (the room page on AWS serves it): "
            "run `npm ci && npm run build` in apps/web-sdk"
        )
    return [
        (f"arbiter_server/web/{path.relative_to(web_dir).as_posix()}", path)
        for path in sorted(web_dir.rglob("*"))
        if path.is_file()
    ]


def lambda_files() -> list[tuple[str, Path]]:
    """``(name in the zip, path)`` of the include list's files and the web demo, sorted."""
    files = dict(package_files(LAMBDA_PACKAGES))
    files.update(_module_file(name) for name in LAMBDA_MODULES)
    files.update(web_files())
    return sorted(files.items())


def source_hash(files: Iterable[tuple[str, Path]]) -> str:
    """Hex SHA-256 over the names and contents of ``files``."""
    digest = hashlib.sha256()
    for arcname, path in files:
        digest.update(arcname.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def build_lambda_zip(cache_dir: Path) -> LambdaZip:
    """Build (or reuse from ``cache_dir``) the Lambda zip."""
    files = lambda_files()
    key = source_hash(files)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"lambda-{key[:16]}.zip"
    if not path.exists():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for arcname, src in files:
                info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, src.read_bytes())
        data = buf.getvalue()
        if len(data) > _MAX_ZIP:
            raise RuntimeError(f"the Lambda zip is {len(data)} bytes, over Lambda's 50 MB")
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    data = path.read_bytes()
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return LambdaZip(path=path, sha256=sha, size=len(data))
