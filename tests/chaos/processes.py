"""Real processes for the chaos suite: the sandbox behind uvicorn, and `dodo-analytics sync`. (Not a
conftest.py: tests/conftest.py already owns that module name.)"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def start_sandbox(*flags: str) -> tuple[subprocess.Popen, str]:
    """A sandbox process on a free loopback port, once it answers: (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "dodo_cli",
        "sandbox",
        "--port",
        str(port),
        "--now",
        "2026-06-30T00:00:00Z",
        "--per-second",
        "5000",
        "--per-minute",
        "100000",
        *flags,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/_sandbox/clock", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.2)
    return proc, url


@pytest.fixture(scope="module")
def sandbox():
    """A 3,000-payment business behind uvicorn, with 5% 5xx, 2% truncated bodies and random latency."""
    proc, url = start_sandbox(
        "--size",
        "3000",
        "--seed",
        "9",
        "--error-rate",
        "0.05",
        "--truncate-rate",
        "0.02",
        "--latency-ms",
        "2",
        "--latency-max-ms",
        "20",
        "--fault-seed",
        "3",
    )
    yield url
    proc.terminate()
    proc.wait(10)


def sync_process(url: str, warehouse: Path, **popen) -> subprocess.Popen:
    env = dict(
        os.environ,
        DODO_PAYMENTS_API_KEY="sk_test_sandbox_readonly",
        DODO_PAYMENTS_ENVIRONMENT="test_mode",
        DODO_PAYMENTS_BASE_URL=url,
        DODO_ANALYTICS_RATE_PER_SECOND="5000",
        DODO_ANALYTICS_RATE_PER_MINUTE="100000",
        DODO_ANALYTICS_DETAIL_BUDGET="0",
    )
    options = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE} | popen
    return subprocess.Popen(
        [sys.executable, "-m", "dodo_cli", "sync", "--warehouse", str(warehouse)], **options
    )
