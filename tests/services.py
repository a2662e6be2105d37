"""Real services started by tests on 127.0.0.1: an S3-compatible server (moto's, which speaks
the S3 API over HTTP: boto3 talks to it exactly as to MinIO or AWS) and Redis (Debian's
redis-server). Each is started on a free port and stopped by its fixture; a test that needs one
is skipped, saying what to install, only when the program is not there."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

S3_ACCESS_KEY = "engage-test"
S3_SECRET_KEY = "engage-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


@dataclass
class S3Server:
    url: str
    proc: subprocess.Popen

    def settings(self, bucket: str) -> dict[str, str]:
        """App settings (and environment variables) that point Engage at this server."""
        return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.url,
                "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": S3_ACCESS_KEY,
                "S3_SECRET_ACCESS_KEY": S3_SECRET_KEY}

    def reset(self) -> None:
        """Forget every bucket (moto's reset endpoint)."""
        request = urllib.request.Request(  # noqa: S310 - a local test server
            f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def start_s3_server(log_path: Path) -> S3Server:
    try:
        import moto.server  # noqa: F401 - only to know it is installed
    except ImportError:
        pytest.skip("needs moto[server] (pip install -e '.[test]') for an S3-compatible server")
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, "the S3 server (moto)")
    except RuntimeError:
        proc.kill()
        raise
    return S3Server(f"http://127.0.0.1:{port}", proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    server = start_s3_server(tmp_path_factory.mktemp("s3") / "moto.log")
    try:
        yield server
    finally:
        stop(server.proc)


@dataclass
class RedisServer:
    url: str
    proc: subprocess.Popen


def start_redis(folder: Path) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=(folder / "redis.log").open("wb"), stderr=subprocess.STDOUT)
    _wait_for_port(port, proc, "redis-server")
    return RedisServer(f"redis://127.0.0.1:{port}/0", proc)


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
