"""`dodo-analytics doctor`: is everything in place for a sync? One line per check, each saying what to
do when it fails; exit code 1 when anything is wrong."""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

import duckdb

from core.errors import ApiError, AuthError, ExitCode, ForbiddenError, LockHeld, SettingsError
from core.published import connect, lock_path, read_status, work_path
from core.settings import Settings

from . import warehouse as wh
from .client import DodoClient
from .resources import RESOURCES

OK, PROBLEM = "ok  ", "FAIL"


async def _api(settings: Settings, client: DodoClient) -> list[tuple[str, str]]:
    lines = []
    try:
        await client.get("/products", {"page_size": 1})
    except AuthError as exc:
        return [(PROBLEM, str(exc))]
    except ApiError as exc:
        return [(PROBLEM, f"cannot reach {settings.base_url}: {exc}")]
    lines.append(
        (
            OK,
            f"{settings.base_url} answers and accepts the key ({settings.environment}); "
            f"server clock {client.server_date}",
        )
    )
    for name, r in RESOURCES.items():
        try:
            await client.get(r.path, {"page_size": 1})
            lines.append((OK, f"the key can read {r.path}"))
        except ForbiddenError:
            lines.append(
                (
                    PROBLEM,
                    f"the key may not read {r.path} (403): the sync will skip {name}; use a key "
                    "that may, or leave it out with --resources",
                )
            )
        except ApiError as exc:
            lines.append((PROBLEM, f"{r.path}: {exc}"))
    return lines


def _warehouse(settings: Settings) -> list[tuple[str, str]]:
    path, lines = settings.warehouse, []
    if not path.exists():
        lines.append((OK, f"no warehouse at {path} yet: the first sync creates it"))
    else:
        try:
            with connect(path) as con:
                rows = con.execute(
                    "SELECT status, data_through, finished_at FROM sync_runs ORDER BY run_id DESC LIMIT 1"
                ).fetchall()
                waiting = _alerts_waiting(con)
            if waiting:
                lines.append((PROBLEM, waiting))
        except duckdb.Error as exc:
            lines.append((PROBLEM, f"{path} cannot be read ({exc}); move it away and run a full sync"))
            rows = None
        if rows and rows[0][1] is not None:
            status, through, finished = rows[0]
            age = (datetime.now(UTC) - through).total_seconds() / 3600
            lines.append(
                (
                    OK,
                    f"{path}: last published sync {status}, data through {through:%Y-%m-%d %H:%M} UTC "
                    f"({age:.0f} h ago)"
                    + (": an early publish, the first sync is still loading" if status == "loading" else ""),
                )
            )
    last = read_status(path)
    if last and last.get("exit_code"):
        lines.append(
            (
                PROBLEM,
                f"the last sync ({last.get('finished_at', '?')}) failed: {last.get('problem')}; "
                "run `dodo-analytics sync` by hand to see it",
            )
        )
    if lock_path(path).exists():
        try:
            wh.lock(path).handle.close()  # a look: the file and its holder's name stay as they are
            lines.append((OK, "no sync is running (the lock is free)"))
        except LockHeld:
            lines.append(
                (
                    OK,
                    "a sync is running now (it holds the lock); a second one would exit with "
                    f"{ExitCode.LOCKED.value}",
                )
            )
    if work_path(path).exists():
        lines.append((OK, f"a working copy {work_path(path).name} is there: the next sync resumes from it"))
    return lines


def _alerts_waiting(con) -> str | None:
    """Alerts the channels did not take yet (alerts/check.py keeps them in alert_outbox), said once."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'alert_outbox'").fetchall():
        return None
    n, error = con.execute(
        "SELECT count(*), arg_max(last_error, created_at) FROM alert_outbox WHERE delivered_at IS NULL"
    ).fetchall()[0]
    if not n:
        return None
    return f"{n} alerts are waiting to be sent (last error: {error or 'not tried yet'}); the next sync tries again"


def run(args, client_factory=DodoClient, out=print, env: Mapping[str, str] | None = None) -> int:
    """The doctor verb; `env` stands for the process environment (tests pass their own)."""
    try:
        settings = Settings.from_env(env, warehouse=getattr(args, "warehouse", None))
    except SettingsError as exc:
        out(f"{PROBLEM} settings: {exc}")
        return 1
    out(
        f"{OK} settings: {settings.environment}, rate limits {settings.per_second}/s and {settings.per_minute}/min, "
        f"time zone {settings.timezone}"
    )

    async def check():
        async with client_factory(settings) as client:
            return await _api(settings, client)

    lines = asyncio.run(check()) + _warehouse(settings)
    for state, text in lines:
        out(f"{state} {text}")
    return 1 if any(state == PROBLEM for state, _ in lines) else 0
