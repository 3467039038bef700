"""The Lambda zip: ``arbiter_protocol`` + ``arbiter_server`` + ``jwt`` from the installed packages.

The zip is deterministic (sorted entries, fixed timestamps), so the same sources give the
same bytes and the same ``CodeSha256``: an unchanged deployment does not update its
functions. It is cached under ``cache_dir`` by the content hash of its inputs. The
handlers need neither aiortc nor av (nor aiohttp, rich, numpy); the SFU and the local
gateway are left out, which a test checks by importing the handlers from the zip alone.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAMBDA_PACKAGES", "LambdaZip", "build_lambda_zip", "source_hash"]

LAMBDA_PACKAGES = ("arbiter_protocol", "arbiter_server", "jwt")
"Top-level packages put in the zip (boto3 comes with the Lambda runtime)."

_EXCLUDED = (
    "arbiter_server/sfu/",
    "arbiter_server/gateway/",
    "arbiter_server/demo_bot.py",
    "arbiter_server/local.py",
    "arbiter_server/cli.py",
    "arbiter_server/__main__.py",
)
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


def _files(packages: tuple[str, ...] = LAMBDA_PACKAGES) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for name in packages:
        root = _package_root(name)
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix not in (".py", ".typed"):
                continue
            arcname = f"{name}/{path.relative_to(root).as_posix()}"
            if arcname.startswith(_EXCLUDED):
                continue
            out.append((arcname, path))
    out.sort()
    return out


def source_hash(packages: tuple[str, ...] = LAMBDA_PACKAGES) -> str:
    """Hex SHA-256 over the names and contents of the files that go in the zip."""
    digest = hashlib.sha256()
    for arcname, path in _files(packages):
        digest.update(arcname.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def build_lambda_zip(cache_dir: Path) -> LambdaZip:
    """Build (or reuse from ``cache_dir``) the Lambda zip."""
    key = source_hash()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"lambda-{key[:16]}.zip"
    if not path.exists():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for arcname, src in _files():
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
