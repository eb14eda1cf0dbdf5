"""Real S3-compatible servers on loopback for tests, benchmarks and `make demo`.

Each server runs as a separate process bound to 127.0.0.1 on free ephemeral ports, and each context manager
stops its process group on exit, whatever happens inside. Nothing here needs pytest.

    with moto_server() as endpoint:
        endpoint.client().create_bucket(Bucket="data")
        subprocess.run([...], env={**os.environ, **endpoint.env()})
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOOPBACK = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
MOTO_DEFAULT_KEY = "testing"
"""moto accepts any key pair while authentication is off (its default)."""

MOTO_RESET_AUTH_PATH = "/moto-api/reset-auth"
"""Server-mode endpoint behind moto's `set_initial_no_auth_action_count`: POST a number N and authentication
starts after N more unauthenticated actions; 0 enforces it from now on (moto docs, docs/iam.rst)."""

ALLOW_ALL_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

SEAWEED_GRPC_OFFSET = 10000
"""SeaweedFS derives each gRPC port as HTTP port + 10000 unless given; we give every port explicitly."""

STARTUP_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class S3Endpoint:
    """How to reach one loopback S3 server."""

    url: str
    access_key: str
    secret_key: str
    region: str = DEFAULT_REGION

    def env(self) -> dict[str, str]:
        """The AWS_* variables a subprocess (the trainer, the demo) needs to use this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, **config: Any) -> Any:
        """A plain boto3 S3 client for this server (path-style; `config` overrides botocore Config fields)."""
        settings: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"mode": "standard", "max_attempts": 3},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            **config,
        }
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**settings),
        )

    def with_credentials(self, access_key: str, secret_key: str) -> S3Endpoint:
        return replace(self, access_key=access_key, secret_key=secret_key)


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on loopback (all held open together while choosing, then released)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]


def _executable(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"{name} not found next to {sys.executable} or on PATH: install the dev dependencies"
        )
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group (SeaweedFS ignores SIGTERM for seconds) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )


def _wait_until(ready: Any, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} exited with code {process.returncode}; log tail:\n{tail}")
        try:
            if ready():
                return
        except (OSError, BotoCoreError, ClientError) as e:
            last_error = e
        time.sleep(POLL_INTERVAL_S)
    raise TimeoutError(f"{what} not ready within {timeout:.0f} s (last error: {last_error}); log: {log}")


@contextlib.contextmanager
def moto_server(
    *, enforce_auth: bool = False, policy: dict[str, Any] | None = None, timeout: float = STARTUP_TIMEOUT_S
) -> Iterator[S3Endpoint]:
    """A `moto_server` subprocess on a free loopback port.

    With `enforce_auth`, an IAM user with `policy` (default: allow everything) and an access key are created
    while authentication is still off, then authentication is switched on: from then on only that key pair
    is accepted and requests are checked against the policy, as AWS would.
    """
    (port,) = free_ports(1)
    url = f"http://{LOOPBACK}:{port}"
    with tempfile.TemporaryDirectory(prefix="moto-") as workdir:
        log = Path(workdir, "moto.log")
        process = _start([_executable("moto_server"), "-H", LOOPBACK, "-p", str(port)], log)
        try:

            def answers() -> bool:
                with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as response:
                    return response.status == 200

            _wait_until(answers, process, log, "moto_server", timeout)
            endpoint = S3Endpoint(url, MOTO_DEFAULT_KEY, MOTO_DEFAULT_KEY)
            if enforce_auth:
                endpoint = _moto_enforce_auth(endpoint, policy or ALLOW_ALL_POLICY)
            yield endpoint
        finally:
            _stop(process)


def _moto_enforce_auth(endpoint: S3Endpoint, policy: dict[str, Any]) -> S3Endpoint:
    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        region_name=endpoint.region,
    )
    user = "trainer-test"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="test-policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    request = urllib.request.Request(
        f"{endpoint.url}{MOTO_RESET_AUTH_PATH}",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},  # not form-encoded, or moto sees an empty body
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
    return endpoint.with_credentials(key["AccessKeyId"], key["SecretAccessKey"])


@contextlib.contextmanager
def seaweed_server(*, timeout: float = STARTUP_TIMEOUT_S) -> Iterator[S3Endpoint]:
    """`weed server` (master, volume, filer, S3 gateway) on free loopback ports, data in a temporary dir.

    Credentials come from an S3 identity file with Admin rights; readiness is a bucket creation that succeeds.
    """
    master, volume, filer, s3, master_grpc, volume_grpc, filer_grpc, s3_grpc = free_ports(8)
    access_key, secret_key = "seaweed-test-key", "seaweed-test-secret"
    with tempfile.TemporaryDirectory(prefix="seaweed-") as workdir:
        data = Path(workdir, "data")
        data.mkdir()
        config = Path(workdir, "s3.json")
        identity = {
            "name": "admin",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        log = Path(workdir, "weed.log")
        args = [
            _executable("weed"),
            "server",
            f"-dir={data}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            "-filer.localSocket=" + str(Path(workdir, "filer.sock")),
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.localSocket=" + str(Path(workdir, "s3.sock")),
            f"-s3.config={config}",
            "-iam=false",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=64",
            "-volume.preStopSeconds=0",
        ]
        process = _start(args, log)
        try:
            endpoint = S3Endpoint(f"http://{LOOPBACK}:{s3}", access_key, secret_key)
            client = endpoint.client(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
            probe = "readiness-probe"

            def bucket_created() -> bool:
                client.create_bucket(Bucket=probe)
                client.delete_bucket(Bucket=probe)
                return True

            _wait_until(bucket_created, process, log, "weed server", timeout)
            yield endpoint
        finally:
            _stop(process)


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was free a moment ago)."""
    (port,) = free_ports(1)
    return f"http://{LOOPBACK}:{port}"
