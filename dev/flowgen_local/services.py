"""Backing services on loopback: moto's server (SQS, IAM, STS) and redis-server, each a child
process that dies with the stack, even when the stack is killed with SIGKILL."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
# How often the local HTTP servers' serve_forever looks for a shutdown: socketserver's default,
# 0.5 s, was waited out by every stop of a stack (its front and its identity provider) and of a
# test's own server.
SHUTDOWN_POLL_SECONDS = 0.05


def die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when its parent exits, however it exits.
    Used as a subprocess preexec_fn and at the start of forked children."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening on {port}")
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class RedisServer:
    """redis-server on a loopback port. With a data directory it keeps an append-only file
    (fsync every second), so dedupe keys, limits and idempotency records survive a restart."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server) and REDIS_URL is not set")
        self.port = port or free_port()
        persistence = ["--save", "", "--appendonly", "no"]
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            persistence = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(data_dir)]
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *persistence, *extra_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,  # the stack stops it in order; a Ctrl-C at the terminal reaches the stack only
        )
        wait_for_port(self.port, process=self.process)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process(self.process)


class CredentialedSession:
    """`client(...)` as boto3's Session has it, signing with these credentials, from one boto3
    session per process: a new boto3 Session per stack read every service's model again (0.7 s
    of a 2.4 s stack start, paid by every stack a test session builds)."""

    _shared: Any = None
    _lock = threading.Lock()  # botocore's Session is not safe for concurrent client creation

    def __init__(self, access_key_id: str, secret_access_key: str, session_token: str | None = None,
                 region_name: str = "us-east-1") -> None:  # fmt: skip
        self.credentials = {
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "aws_session_token": session_token,
        }
        self.region_name = region_name

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        kwargs.setdefault("region_name", self.region_name)
        with CredentialedSession._lock:
            if CredentialedSession._shared is None:
                CredentialedSession._shared = boto3.session.Session()
            return CredentialedSession._shared.client(service, **self.credentials, **kwargs)


@dataclass(frozen=True)
class AdminCredentials:
    access_key_id: str
    secret_access_key: str

    def session(self) -> CredentialedSession:
        return CredentialedSession(self.access_key_id, self.secret_access_key)


class AwsServer:
    """moto's server in its own process, with IAM enforced.

    It starts open, creates one administrator (the local Lambda service and the test harness
    use it), then switches on moto's IAM enforcement (`/moto-api/reset-auth`, the switch behind
    INITIAL_NO_AUTH_ACTION_COUNT): from then on every request must be signed by a known key and
    be allowed by that principal's policies."""

    def __init__(self, port: int | None = None, *, purge_once_a_minute: bool = True) -> None:
        """`purge_once_a_minute=False`: PurgeQueue as often as asked (a test session resets shared
        stacks between tests); AWS, and the local stack, allow one purge a minute per queue."""
        self.port = port or free_port()
        env = {
            **os.environ,
            "MOTO_ALLOW_NONEXISTENT_REGION": "true",
            "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": str(purge_once_a_minute).lower(),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowgen_local.fair_sqs", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=die_with_parent,
            start_new_session=True,  # the stack stops it in order; a Ctrl-C at the terminal reaches the stack only
        )
        wait_for_port(self.port, timeout=30, process=self.process)
        self.admin = self._bootstrap_admin()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _bootstrap_admin(self) -> AdminCredentials:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",  # noqa: S106 - moto's open phase
        )
        iam.create_user(UserName="flowgen-local-admin")
        iam.put_user_policy(
            UserName="flowgen-local-admin",
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="flowgen-local-admin")["AccessKey"]
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{self.url}/moto-api/reset-auth", data=b"0", method="POST", headers={"content-type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            response.read()
        return AdminCredentials(key["AccessKeyId"], key["SecretAccessKey"])

    def stop(self) -> None:
        stop_process(self.process)
