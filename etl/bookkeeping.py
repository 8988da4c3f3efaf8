"""The sync's own records, beside the data: one row per run (sync_runs), how far each resource is
loaded (sync_state), the windows still to read (sync_windows), the records that could not be loaded
(rejected_records), and `<warehouse>.status.json`, how the last run ended (a failed run publishes
nothing, so the published file cannot say). Functions taking `con` run on the sync's writer thread."""

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from core.published import status_path
from core.settings import Settings

from .pager import Window

DDL = """
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
    data_through TIMESTAMPTZ, requests BIGINT, rate_limited BIGINT, retries BIGINT, rows JSON,
    skipped JSON, rejected BIGINT, error VARCHAR, settings JSON);
CREATE TABLE IF NOT EXISTS sync_state (
    resource VARCHAR PRIMARY KEY, complete_through TIMESTAMPTZ, planned_through TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS sync_windows (resource VARCHAR, gte BIGINT, lte BIGINT, extra VARCHAR);
CREATE TABLE IF NOT EXISTS rejected_records (
    run_id BIGINT, resource VARCHAR, record_id VARCHAR, reason VARCHAR);
"""

SKEW = timedelta(minutes=5)  # how far the API's clock may be ahead of this machine's


class RunStatus(StrEnum):
    """sync_runs.status, stored as these strings."""

    RUNNING = "running"
    OK = "ok"
    OK_WITH_REJECTS = "ok_with_rejects"  # published, but some records could not be loaded
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # still running when the next run started: the process died
    LOADING = "loading"  # a first sync's early publish: what sync_coverage says is complete, no more


# -- sync_runs -----------------------------------------------------------------------------------
def recorded(settings: Settings) -> dict:
    """The settings a run records in sync_runs: those that change what the numbers are."""
    s = settings
    return {
        "environment": s.environment,
        "timezone": s.timezone,
        "grace_days": s.grace_days,
        "recovery_days": s.recovery_days,
        "lookback_days": s.lookback_days,
        "detail_budget": s.detail_budget,
        "per_second": s.per_second,
        "per_minute": s.per_minute,
    }


def start_run(con, started: datetime, settings: dict) -> int:
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM sync_runs").fetchall()[0][0]
    con.execute(
        "UPDATE sync_runs SET status = ? WHERE status = ?",
        [RunStatus.INTERRUPTED.value, RunStatus.RUNNING.value],
    )
    con.execute(
        "INSERT INTO sync_runs (run_id, started_at, status, settings) VALUES (?, ?, ?, ?)",
        [run_id, started, RunStatus.RUNNING.value, json.dumps(settings)],
    )
    return run_id


def pin(con, date_header: str | None, started: datetime, trust: bool = False) -> tuple[datetime, str | None]:
    """data_through for this pass: the API's clock (its Date header), with two guards. Never later than
    this machine's clock by more than SKEW: a server clock ahead would pin the pass in the future, and
    the ledger (read on from where the last pass stopped, with no look-back) would then skip what is
    created until then. Never earlier than a previous pass's: a server clock that jumped back would
    move data_through backwards and shift every "as of" number. Either way, the earlier instant is the
    safe one: what it leaves out, the next pass reads. `trust` lifts the first guard (a sandbox whose
    clock was moved ahead on purpose, DODO_ANALYTICS_TRUST_API_CLOCK)."""
    note: str | None = None
    try:
        server = parsedate_to_datetime(date_header or "").astimezone(UTC)
    except (TypeError, ValueError):
        server, note = started, "the API sent no usable Date header: this machine's clock dates the pass"
    else:
        if server > started + SKEW and not trust:
            server = started
            note = (
                f"the API's clock ({date_header}) is ahead of this machine's: this machine's "
                "clock dates the pass"
            )
    (last,) = con.execute(
        "SELECT max(data_through) FROM sync_runs WHERE status IN (?, ?)",
        [RunStatus.OK.value, RunStatus.OK_WITH_REJECTS.value],
    ).fetchall()[0]
    if last is not None and server < last:
        whose = "the API's" if note is None else "this machine's"
        return last, (
            f"{whose} clock ({server:%Y-%m-%d %H:%M:%S} UTC) is behind the last sync's data through "
            f"({last:%Y-%m-%d %H:%M:%S} UTC): data through stays there"
        )
    return server, note


def resume_run(con, run_id: int) -> None:
    """The run's row is `running` again in the working copy, after an early publish showed it `loading`."""
    con.execute("UPDATE sync_runs SET status = ? WHERE run_id = ?", [RunStatus.RUNNING.value, run_id])


def set_data_through(con, run_id: int, through: datetime) -> None:
    con.execute("UPDATE sync_runs SET data_through = ? WHERE run_id = ?", [through, run_id])


def finish_run(
    con,
    run_id: int,
    status: RunStatus,
    stats: Mapping[str, int],
    *,
    fetched: Mapping[str, int],
    new: Mapping[str, int],
    skipped: Mapping[str, str],
    rejected: int,
    error: str | None,
) -> None:
    """The run's row, completed: how it ended, what it cost (the client's stats) and what it read."""
    rows = {n: {"fetched": fetched.get(n, 0), "new": new.get(n, 0)} for n in fetched}
    con.execute(
        "UPDATE sync_runs SET finished_at = ?, status = ?, requests = ?, rate_limited = ?, retries = ?, "
        "rows = ?, skipped = ?, rejected = ?, error = ? WHERE run_id = ?",
        [
            datetime.now(UTC),
            status.value,
            stats["requests"],
            stats["rate_limited"],
            stats["retries"],
            json.dumps(rows, sort_keys=True),
            json.dumps(skipped, sort_keys=True),
            rejected,
            error,
            run_id,
        ],
    )


# -- sync_state ----------------------------------------------------------------------------------
def state(con, resource: str) -> tuple:
    """The resource's (complete_through, planned_through)."""
    row = con.execute(
        "SELECT complete_through, planned_through FROM sync_state WHERE resource = ?", [resource]
    ).fetchall()
    return row[0] if row else (None, None)


def set_planned(con, resource: str, planned_through: datetime) -> None:
    con.execute(
        "INSERT INTO sync_state VALUES (?, NULL, ?) ON CONFLICT (resource) DO UPDATE SET "
        "planned_through = excluded.planned_through",
        [resource, planned_through],
    )


def finish(con, resource: str) -> None:
    """Every window of the resource's plan is committed: it is complete through where it was planned."""
    con.execute("UPDATE sync_state SET complete_through = planned_through WHERE resource = ?", [resource])


# -- sync_windows --------------------------------------------------------------------------------
def pending_windows(con, resource: str) -> list[Window]:
    rows = con.execute(
        "SELECT gte, lte, extra FROM sync_windows WHERE resource = ? ORDER BY lte DESC NULLS FIRST",
        [resource],
    ).fetchall()
    return [Window(gte, lte, tuple(map(tuple, json.loads(extra)))) for gte, lte, extra in rows]


def resumable(con, resource: str, reset: bool) -> tuple[list[Window], tuple]:
    """The windows a killed pass left to fetch (none when `reset`: a new starting point replaces
    them), and the resource's (complete_through, planned_through)."""
    if reset:
        drop_plan(con, resource)
    return pending_windows(con, resource), state(con, resource)


def drop_plan(con, resource: str) -> None:
    con.execute("DELETE FROM sync_windows WHERE resource = ?", [resource])


def window_rows(windows: list[tuple[str, Window]]) -> pa.Table:
    """(resource, window) pairs as rows of sync_windows."""
    return pa.table(
        {
            "resource": pa.array([r for r, _ in windows], pa.string()),
            "gte": pa.array([w.gte for _, w in windows], pa.int64()),
            "lte": pa.array([w.lte for _, w in windows], pa.int64()),
            "extra": pa.array([json.dumps(w.extra) for _, w in windows], pa.string()),
        }
    )


# -- rejected_records ----------------------------------------------------------------------------
def reject(con, rows: list[tuple]) -> None:
    """(run_id, resource, record_id, reason) rows."""
    if rows:
        con.executemany("INSERT INTO rejected_records VALUES (?, ?, ?, ?)", rows)


def list_unplaced(con, run_id: int) -> int:
    """The records the metric tables left out (unplaced_records) listed under this run, each once:
    the rows an earlier run wrote for the same record and reason go. Their number."""
    con.execute(
        "DELETE FROM rejected_records WHERE (resource, record_id, reason) IN "
        "(SELECT (resource, record_id, reason) FROM unplaced_records)"
    )
    con.execute(
        "INSERT INTO rejected_records SELECT $run_id, resource, record_id, reason FROM unplaced_records",
        {"run_id": run_id},
    )
    return con.execute("SELECT count(*) FROM unplaced_records").fetchone()[0]


# -- <warehouse>.status.json ---------------------------------------------------------------------
def write_status(published: Path, exit_code: int, problem: str | None) -> None:
    """How this run ended, whether or not it published anything (the dashboard and doctor read it)."""
    path = status_path(published)
    staging = path.with_name(path.name + ".tmp")
    status = {"finished_at": datetime.now(UTC).isoformat(), "exit_code": int(exit_code), "problem": problem}
    try:
        staging.write_text(json.dumps(status))
        os.replace(staging, path)
    except OSError:
        pass  # a full or read-only disk already failed the run with its own message
