"""Files the local stack keeps in its data directory across restarts."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

__all__ = ["read_or_create_secret"]

logger = logging.getLogger(__name__)

_MIN_LENGTH = 32


def read_or_create_secret(path: Path) -> str:
    """The signing secret kept in ``path``, created (random, owner-only 0600) if missing.

    Join tokens and SFU bootstrap codes are signed with it, so a restarted ``dev`` with the
    same data directory still accepts the unused tokens it handed out (clients resume with
    their refresh credentials, kept in the store). A file that others may read is made
    owner-only again; one that holds no usable secret raises ``OSError`` (delete it to get a
    new secret, which invalidates every unused token).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            logger.warning("%s was readable by others (mode %o); making it owner-only", path, mode)
            path.chmod(0o600)
        secret = path.read_text().strip()
        if len(secret) < _MIN_LENGTH:
            raise OSError(
                f"{path} holds no usable secret (at least {_MIN_LENGTH} characters); "
                "delete it to make a new one"
            ) from None
        return secret
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret
