"""moto 5 as a real server on a free loopback port; boto3 reaches it through AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.moto_api import state_manager  # noqa: E402
from moto.server import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    ThreadedMotoServer,
    create_backend_app,
)

REGION = "us-east-1"

logging.getLogger("werkzeug").setLevel(logging.WARNING)

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AtomicMotoServer(ThreadedMotoServer):
    """moto's server, answering one request at a time.

    AWS applies each request atomically (a DynamoDB conditional write checks and writes as
    one step); moto checks and writes in plain Python, so under thread preemption two
    racing conditional writes could both pass (seen with ``take_pooled_room`` on a loaded
    machine). One request at a time makes moto as atomic as the service it plays.
    """

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            self._ip_address, self._port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server for the session; every test uses its own prefix or table."""
    port = _free_port()
    server = AtomicMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # ECS tasks stay RUNNING until stopped (moto advances them on each describe otherwise)
    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        state_manager.unset_transition("ecs::task")
        server.stop()


@pytest.fixture(scope="module")
def aws_env(moto_url: str) -> Iterator[str]:
    """Dummy credentials and AWS_ENDPOINT_URL pointing at the moto server (per module)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        for key, value in _ENV.items():
            mp.setenv(key, value)
        mp.setenv("AWS_ENDPOINT_URL", moto_url)
        yield moto_url
