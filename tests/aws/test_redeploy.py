"""A redeploy while a room is live, against moto: new Lambda code and a new SFU image.

The ``deployed`` fixture deploys prefix ``t3`` once; the test starts an SFU task for a
live room, deploys again with other function code and another SFU image tag, and checks
that nothing running was touched while the next room's SFU starts from the new image.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from arbiter_server.aws import services_from_environment
from arbiter_server.cli import main
from arbiter_server.infra.awsclient import AwsClient
from arbiter_server.infra.deployer import create_deployer
from arbiter_server.infra.images import image_tags
from arbiter_server.infra.models import DeployConfig
from arbiter_server.infra.package import LambdaZip, build_lambda_zip
from arbiter_server.infra.planner import Planner
from tests.aws.helpers import REGION, client

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("aws_env")]

PREFIX = "t3"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redeploy")


@pytest.fixture(scope="module")
def deployed(workdir: Path, aws_env: str) -> str:
    """Deploy ``t3`` once for the module."""
    args = ["deploy", "--yes", "--skip-images", "--region", REGION, "--prefix", PREFIX]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--state-file", str(workdir / "s.json")]) == 0
    return PREFIX


def _changed_zip(built: LambdaZip, tmp_path: Path) -> LambdaZip:
    """The same zip with one more file: new function code, as after an upgrade."""
    path = tmp_path / "next.zip"
    with zipfile.ZipFile(built.path) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("arbiter_server/NEXT", "a newer release\n")
    data = path.read_bytes()
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return LambdaZip(path=path, sha256=sha, size=len(data))


def test_a_redeploy_leaves_live_rooms_alone_and_new_sfus_get_the_new_image(
    deployed: str, workdir: Path, tmp_path: Path
) -> None:
    fn = client("lambda").get_function_configuration(FunctionName=f"{PREFIX}-signaling")
    env = {**fn["Environment"]["Variables"], "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"]}
    launcher = services_from_environment(env, AwsClient(REGION)).launcher
    live = launcher.start("live-room", "sfu-token")
    ecs = client("ecs")
    (before,) = ecs.describe_tasks(cluster=PREFIX, tasks=[live])["tasks"]
    assert before["taskDefinitionArn"].endswith(f"task-definition/{PREFIX}-sfu:1")

    config = DeployConfig(region=REGION, prefix=PREFIX, skip_images=True)
    deployer = create_deployer(config, state_path=workdir / "s.json", cache_dir=tmp_path)
    tags = {**image_tags(), "sfu": "src-next"}
    code = _changed_zip(build_lambda_zip(tmp_path / "build"), tmp_path)
    plan = Planner(deployer.aws).plan(config, code, tags)
    # new code for every function and a new SFU revision; nothing stopped or replaced
    assert sorted((c.action, c.kind, c.name) for c in plan.changes) == sorted(
        [
            ("update", "lambda-function", f"{PREFIX}-room-api"),
            ("update", "lambda-function", f"{PREFIX}-signaling"),
            ("update", "lambda-function", f"{PREFIX}-maintenance"),
            ("update", "lambda-function", f"{PREFIX}-webhooks"),
            ("update", "task-definition", f"{PREFIX}-sfu"),
        ]
    )
    assert not [i for c in plan.changes for i in c.instructions if "stop" in str(i.describe())]
    deployer.apply(plan)

    # the live room's SFU runs on, from the image it started with
    (after,) = ecs.describe_tasks(cluster=PREFIX, tasks=[live])["tasks"]
    assert (
        after["lastStatus"] == "RUNNING"
        and after["taskDefinitionArn"] == (before["taskDefinitionArn"])
    )
    assert launcher.is_alive(live)
    # the next room's SFU starts from the new revision, with the new image
    fresh = launcher.start("next-room", "sfu-token")
    (task,) = ecs.describe_tasks(cluster=PREFIX, tasks=[fresh])["tasks"]
    assert task["taskDefinitionArn"].endswith(f"task-definition/{PREFIX}-sfu:2")
    revision = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
    (container,) = revision["taskDefinition"]["containerDefinitions"]
    assert container["image"].endswith(f"/{PREFIX}/sfu:src-next")
    old = ecs.describe_task_definition(taskDefinition=before["taskDefinitionArn"])
    assert old["taskDefinition"]["status"] == "ACTIVE"  # still there for running tasks
    for handle in (live, fresh):
        launcher.stop(handle)
