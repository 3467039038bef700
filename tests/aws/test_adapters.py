"""The Management API poster, and the Lambda zip's imports."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest

from arbiter_protocol import DataMessage, SfuReady
from arbiter_server.infra.package import build_lambda_zip
from arbiter_server.infra.planner import FUNCTIONS
from arbiter_server.poster.apigw import ApiGatewayPoster
from arbiter_server.turn import turn_credentials

pytestmark = pytest.mark.timeout(60)


class _Gone(BaseHTTPRequestHandler):
    """Answers every post like API Gateway does for a closed connection."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"message": None}).encode()
        self.send_response(410)
        self.send_header("x-amzn-ErrorType", "GoneException")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gone_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Gone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prod"
    finally:
        server.shutdown()
        server.server_close()


def _client(endpoint: str) -> object:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def test_gone_connection_is_reported(gone_endpoint: str) -> None:
    poster = ApiGatewayPoster(_client(gone_endpoint))
    assert poster.post("abc=", SfuReady(room_id="r")) is False
    poster.close_connection("abc=")  # Gone on close is not an error


HUGE = "x" * 140_000  # no SDP can be this big any more: any message the server builds


def test_posts_to_moto_and_refuses_messages_over_128_kb(
    aws_env: str, caplog: pytest.LogCaptureFixture
) -> None:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    poster = ApiGatewayPoster(_client(aws_env))
    assert poster.post("conn-1", SfuReady(room_id="r")) is True
    conn = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections["conn-1"]
    assert json.loads(conn.data) == {"action": "sfu_ready", "v": 1, "room_id": "r"}
    huge = DataMessage(kind="text", data=HUGE, id="m")
    with caplog.at_level(logging.ERROR):
        assert poster.post("conn-2", huge) is True  # refused, but the connection is not gone
    assert "refusing to post" in caplog.text and "131072" in caplog.text
    store = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections
    assert "conn-2" not in store or store["conn-2"].data == b""


def test_turn_credentials_follow_coturn_rest_api() -> None:
    user, password = turn_credentials("s3cret", "p-1", ttl=600, now=1000.0)
    assert user == "1600:p-1"
    # echo -n 1600:p-1 | openssl dgst -sha1 -hmac s3cret -binary | base64
    import base64
    import hashlib
    import hmac

    assert (
        password
        == base64.b64encode(hmac.new(b"s3cret", b"1600:p-1", hashlib.sha1).digest()).decode()
    )


_PROBE = """
import importlib, importlib.abc, json, sys
BLOCKED = {"aiortc", "av", "aiohttp", "rich", "numpy", "websockets", "httpx", "aioice"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} must not be imported on Lambda")
        return None
sys.meta_path.insert(0, Block())
for handler in json.loads(sys.argv[2]):
    module, _, func = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), func)), handler
import arbiter_server, jwt
assert arbiter_server.__file__.startswith(sys.argv[1]), arbiter_server.__file__
assert jwt.__file__.startswith(sys.argv[1]), jwt.__file__
print(json.dumps(sorted(m for m in sys.modules if m.startswith("arbiter_"))))
"""


def test_lambda_zip_imports_the_handlers_without_media_packages(tmp_path: Path) -> None:
    built = build_lambda_zip(tmp_path / "cache")
    again = build_lambda_zip(tmp_path / "cache")
    assert again.path == built.path and again.sha256 == built.sha256  # cached by content hash
    names = zipfile.ZipFile(built.path).namelist()
    assert "arbiter_server/lambdas/signaling.py" in names and "jwt/api_jwt.py" in names
    assert not [
        n
        for n in names
        if n.startswith(("arbiter_server/sfu/", "arbiter_server/gateway/", "arbiter_client/"))
        or n.startswith(("arbiter_server/local.py", "arbiter_server/infra/planner/"))
    ]
    assert built.size < 5 * 1024 * 1024
    unzipped = tmp_path / "task"
    zipfile.ZipFile(built.path).extractall(unzipped)
    # the zip first, then site-packages only for boto3 (which the Lambda runtime provides)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(unzipped)!r}); exec({_PROBE!r})",
            str(unzipped),
            json.dumps([handler for handler, _ in FUNCTIONS.values()]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # the include list is exactly what the handlers import: nothing missing, nothing unused
    imported = set(json.loads(result.stdout))
    shipped = {
        n.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for n in names
        if n.startswith("arbiter_") and n.endswith(".py")
    }
    assert shipped == imported
