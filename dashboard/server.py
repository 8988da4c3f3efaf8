"""Starting the dashboard: the one `streamlit run` command line, and a running dashboard whose health
was checked, for `dodo-analytics dashboard`, the demo, the tests and the benchmarks.

Streamlit's options live in `.streamlit/config.toml` only. Streamlit reads that file from the working
directory, so the command line repeats its options as flags: the dashboard is the same wherever it is
started from (the host and port a caller asks for win)."""

import os
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from core.settings import LOOPBACK, Settings

APP = Path(__file__).with_name("app.py")  # the pages (what AppTest runs)
LAUNCHER = Path(__file__).with_name("serve.py")  # what `streamlit run` starts: APP behind the gate
CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
WILDCARD = ("0.0.0.0", "::", "")  # every address of this machine


class DashboardError(Exception):
    """The dashboard did not start; the message says where and what it printed."""


def options() -> dict[str, str]:
    """`.streamlit/config.toml` as command-line flags: {"--server.address": "127.0.0.1", ...}."""
    config = tomllib.loads(CONFIG.read_text())
    return {
        f"--{section}.{name}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in config.items()
        for name, value in values.items()
    }


def streamlit_command(
    warehouse: str | Path, host: str, port: int, settings: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard over `warehouse`; `settings` are
    variables set over the caller's environment (the demo's mode, for one)."""
    env = dict(os.environ, **(settings or {}), DODO_ANALYTICS_WAREHOUSE=str(Path(warehouse).resolve()))
    env.pop("DODO_PAYMENTS_API_KEY", None)  # the dashboard never calls the API: it does not get the key
    flags = {**options(), "--server.address": host, "--server.port": str(port)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(LAUNCHER)]
    for flag, value in flags.items():
        cmd += [flag, value]
    for name in allowed_hosts(host, Settings.from_env(env, api=False).allowed_hosts):
        cmd += ["--server.allowedHosts", name]
    return cmd, env


def allowed_hosts(host: str, extra: tuple[str, ...]) -> list[str]:
    """The Host names the dashboard answers (a page on another name, DNS rebinding, is refused): this
    machine's, the bound address unless it is a wildcard, and DODO_ANALYTICS_ALLOWED_HOSTS."""
    names = [*LOOPBACK, *([] if host in WILDCARD else [host]), *extra]
    return list(dict.fromkeys(names))


class Dashboard:
    """A dashboard process that answered its health check; `with` stops it again."""

    def __init__(
        self,
        warehouse: str | Path,
        host: str = "127.0.0.1",
        port: int = 8501,
        timeout: float = 120,
        settings: Mapping[str, str] | None = None,
    ):
        cmd, env = streamlit_command(warehouse, host, port, settings)
        self.url = f"http://{host}:{port}"
        # what it prints goes to a file, not a pipe nobody reads (a full pipe would stall it)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                said = self.log.read().decode(errors="replace")[-2000:]
                self.stop()
                raise DashboardError(
                    f"the dashboard did not start on {self.url} within {timeout:.0f} s: {said}"
                )
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> "Dashboard":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
