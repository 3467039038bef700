"""Container images: content-hash tags, and ``docker build`` + ``docker push`` to ECR.

Tags are derived from what goes into an image: its Dockerfile and every file of the
build context its ``COPY`` lines take, with ``.dockerignore`` applied as Docker applies
it (:mod:`.buildcontext`). Re-deploying unchanged sources neither rebuilds nor changes
the task definitions; changing any file the image contains changes its tag, so new SFU
tasks start from the new image while running ones keep theirs. ``--skip-images`` skips
the build and push but keeps the same tags.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from .. import resources
from .awsclient import AwsClient
from .buildcontext import copied_files

__all__ = ["DEPLOY_DIR", "IMAGES", "ImageError", "build_and_push", "image_tag", "image_tags"]

DEPLOY_DIR = resources.deploy_dir()
"""The Dockerfiles (``sfu.Dockerfile``, ``coturn.Dockerfile``); their parent is the build
context: a checkout, or the same layout assembled from the installed wheel
(:func:`arbiter_server.resources.deploy_dir`)."""


class ImageError(RuntimeError):
    """Building or pushing an image failed (or Docker is missing)."""


IMAGES = {"sfu": "sfu.Dockerfile", "coturn": "coturn.Dockerfile"}
"Image name -> its Dockerfile in ``deploy/``."


def image_tag(dockerfile: Path, context: Path) -> str:
    """``src-<12 hex>``: SHA-256 of the Dockerfile and the context files it copies."""
    digest = hashlib.sha256(dockerfile.read_bytes())
    for rel in copied_files(dockerfile, context):
        digest.update(b"\0" + rel.encode() + b"\0")
        digest.update((context / rel).read_bytes())
    return f"src-{digest.hexdigest()[:12]}"


def image_tags(deploy_dir: Path = DEPLOY_DIR) -> dict[str, str]:
    """``{"sfu": tag, "coturn": tag}`` from the image inputs' content."""
    return {name: image_tag(deploy_dir / file, deploy_dir.parent) for name, file in IMAGES.items()}


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
