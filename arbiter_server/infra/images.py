"""Container images: content-hash tags, and ``docker build`` + ``docker push`` to ECR.

Tags are derived from what goes into an image (its Dockerfile and, for the SFU, the
package sources), so re-deploying unchanged sources neither rebuilds nor changes the
task definitions. ``--skip-images`` skips the build and push but keeps the same tags.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from .. import resources
from .awsclient import AwsClient
from .package import source_hash

__all__ = ["DEPLOY_DIR", "ImageError", "build_and_push", "image_tags"]

DEPLOY_DIR = resources.deploy_dir()
"""The Dockerfiles (``sfu.Dockerfile``, ``coturn.Dockerfile``): package data of an installed
wheel, the repository's ``deploy/`` in a checkout (:func:`arbiter_server.resources.deploy_dir`)."""


class ImageError(RuntimeError):
    """Building or pushing an image failed (or Docker is missing)."""


def _file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def image_tags(deploy_dir: Path = DEPLOY_DIR) -> dict[str, str]:
    """``{"sfu": tag, "coturn": tag}`` from the image inputs' content."""
    sfu = hashlib.sha256(
        (
            _file_hash(deploy_dir / "sfu.Dockerfile")
            + source_hash(("arbiter_protocol", "arbiter_server"))
        ).encode()
    ).hexdigest()
    coturn = _file_hash(
        deploy_dir / "coturn.Dockerfile",
        deploy_dir / "coturn-entrypoint.sh",
        deploy_dir.parent / "arbiter_server" / "turn_config.py",
    )
    return {"sfu": f"src-{sfu[:12]}", "coturn": f"src-{coturn[:12]}"}


def build_and_push(
    aws: AwsClient, dockerfile: str, repository_uri: str, tag: str, deploy_dir: Path = DEPLOY_DIR
) -> None:
    """Build ``deploy/<dockerfile>`` (context: the repository root) and push it."""
    if not (deploy_dir / dockerfile).exists():
        raise ImageError(
            f"{deploy_dir / dockerfile} not found: deploy from a source checkout "
            "or pass --skip-images and push the images yourself"
        )
    docker = shutil.which("docker")
    if docker is None:
        raise ImageError("docker is not installed: install it or deploy with --skip-images")
    user, password, registry = aws.ecr_login()
    image = f"{repository_uri}:{tag}"
    steps = [
        [docker, "login", "--username", user, "--password-stdin", registry],
        [
            docker,
            "build",
            "--platform",
            "linux/amd64",
            "-f",
            str(deploy_dir / dockerfile),
            "-t",
            image,
            str(deploy_dir.parent),
        ],
        [docker, "push", image],
    ]
    for i, cmd in enumerate(steps):
        result = subprocess.run(
            cmd,
            input=password.encode() if i == 0 else None,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            tail = result.stderr.decode(errors="replace")[-2000:]
            raise ImageError(f"{' '.join(cmd[:2])} failed for {image}:\n{tail}")
