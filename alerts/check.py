"""After each sync: find the rules' events and the digests due, queue each once per channel, and send
what is queued. The queue and what the rules remember (the MRR of the last check, when alerts were
switched on, the first digest period) are tables of the warehouse's working copy, so they are
published with the data and survive restarts; `dodo-analytics alerts --dry-run` reads them from the
published file.

Every alert has a key; (key, channel) is queued at most once, so an event found by many runs is sent
once. A channel that fails leaves its messages queued with the error; the next run tries again. Nothing
here fails the sync: a problem becomes a note in its summary."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from core.errors import SettingsError
from core.settings import Settings

from . import channels, digest, rules
from .config import Config, load
from .rules import Event

TABLES = [
    "CREATE TABLE IF NOT EXISTS alert_state (name VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS alert_outbox (
           key VARCHAR, channel VARCHAR, rule VARCHAR, created_at TIMESTAMPTZ, subject VARCHAR, text VARCHAR,
           html VARCHAR, delivered_at TIMESTAMPTZ, attempts INTEGER, last_error VARCHAR, PRIMARY KEY (key, channel))""",
]
BASELINE = "baseline"  # the channel of what the first check found already there: recorded, never sent
MAX_DIGESTS = 12  # per cadence and run: after a long downtime, the last 12 missed periods, oldest first


@dataclass
class Plan:
    send: list[tuple[Event, tuple[str, ...]]] = field(default_factory=list)  # (event, its channels)
    baseline: list[Event] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)  # alert_state to write
    problems: list[str] = field(default_factory=list)
    first: bool = False  # alerts were switched on by this check


def _state(con) -> dict[str, str]:
    try:
        return dict(con.execute("SELECT name, value FROM alert_state").fetchall())
    except duckdb.CatalogException:
        return {}


def _known(con) -> set[tuple[str, str]]:
    try:
        return set(con.execute("SELECT key, channel FROM alert_outbox").fetchall())
    except duckdb.CatalogException:
        return set()


def plan(con, config: Config, settings: Settings, error: str | None, now: datetime) -> Plan:
    """What this check would queue: new events for their channels, or on the first check the events
    of history rules as a baseline; digests of the periods ended since the last one."""
    state, known = _state(con), _known(con)
    first = "activated_at" not in state
    out = Plan(first=first)
    out.state["activated_at"] = state.get("activated_at", now.isoformat())
    last_mrr = json.loads(state.get("mrr", "{}"))
    # MRR now, read once: what mrr_drop compares and what the next check compares with
    current = rules.mrr_now(con) if "mrr_drop" in config.rules and not error else {}
    for name, options in config.rules.items():
        if error and name not in ("sync_failing", "stale"):
            continue  # a failed run's tables are the last published ones: only the run itself is news
        kwargs: dict[str, Any] = {k: v for k, v in options.items() if k != "channels"}
        kwargs.update(error=error, checked_at=now, last=last_mrr, current=current)
        try:
            found = rules.FIND[name](con, **kwargs)  # type: ignore[operator]
        except duckdb.Error as exc:
            out.problems.append(f"rule {name} could not be checked: {type(exc).__name__}")
            continue
        for event in found:
            if first and name in rules.HISTORY:
                out.baseline.append(event)
            elif (event.key, BASELINE) not in known:
                if targets := tuple(c for c in options["channels"] if (event.key, c) not in known):
                    out.send.append((event, targets))
    if "mrr_drop" in config.rules and not error:
        out.state["mrr"] = json.dumps(current)
    if not error:
        _digests(con, config, settings, now, state, known, out)
    return out


def _digests(con, config, settings, now, state, known, out: Plan) -> None:
    through = con.execute("SELECT data_through FROM metric_settings").fetchone()[0]
    activated = datetime.fromisoformat(out.state["activated_at"])
    for cadence in config.digests:
        name = f"digest_from:{cadence}"
        first = (
            state.get(name)
            or digest.period_start(
                activated.astimezone(ZoneInfo(settings.timezone)).date(), cadence
            ).isoformat()
        )
        out.state[name] = first
        due = digest.ended(datetime.fromisoformat(first).date(), through, settings.timezone, cadence)
        for start in due[-MAX_DIGESTS:]:
            key = f"digest:{cadence}:{start}"
            targets = tuple(c for c in config.channels if (key, c) not in known)
            if targets:
                out.send.append(
                    (digest.build(con, cadence, start, settings.timezone, settings.dashboard_url), targets)
                )


def refused(warehouse: str | None) -> str | None:
    """Why the alerts file makes a sync refuse to start (one line), or None."""
    try:
        settings = Settings.from_env(warehouse=warehouse, api=False)
        if settings.alerts_file is not None:
            load(settings.alerts_file)
    except SettingsError as exc:
        return str(exc)
    return None


def after_sync(con, settings: Settings, error: str | None, now: datetime | None = None) -> list[str]:
    """The check a sync runs on its working copy before publishing (or after failing); its notes."""
    if settings.alerts_file is None:
        return []
    now = now or datetime.now(UTC)
    try:
        config = load(settings.alerts_file)
        for table in TABLES:
            con.execute(table)
        p = plan(con, config, settings, error, now)
        for event in p.baseline:
            con.execute(
                "INSERT OR IGNORE INTO alert_outbox VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 0, NULL)",
                [event.key, BASELINE, event.rule, now, event.subject, event.text, now],
            )
        for event, targets in p.send:
            for channel in targets:
                con.execute(
                    "INSERT OR IGNORE INTO alert_outbox VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)",
                    [event.key, channel, event.rule, now, event.subject, event.text, event.html],
                )
        for name, value in p.state.items():
            con.execute("INSERT OR REPLACE INTO alert_state VALUES (?, ?)", [name, value])
        sent, failed = deliver(con, config, now)
    except Exception as exc:  # noqa: BLE001 (alerts never fail the sync; the summary says what happened)
        return [f"alerts: not checked ({type(exc).__name__}: {exc})"]
    notes = list(p.problems)
    if p.first:
        notes.append(f"alerts: switched on; {len(p.baseline)} events already in the data recorded, not sent")
    pending = con.execute("SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL").fetchone()[0]
    if sent or failed or pending:
        why = f" ({failed[0]})" if failed else ""
        notes.append(f"alerts: {sent} sent, {pending} waiting to be sent{why}")
    return notes


def deliver(con, config: Config, now: datetime) -> tuple[int, list[str]]:
    """Send every queued message, oldest first; (how many were sent, the errors of those that were not)."""
    rows = con.execute(
        "SELECT key, channel, subject, text, html FROM alert_outbox WHERE delivered_at IS NULL "
        "ORDER BY created_at, key, channel"
    ).fetchall()
    sent, failed, down = 0, [], set()
    for key, channel, subject, text, html in rows:
        if channel not in config.channels or channel in down:
            continue  # a channel removed from the file keeps its messages queued; a failed one is not retried now
        try:
            channels.send(config, channel, subject, text, html)
        except channels.ChannelError as exc:
            down.add(channel)
            failed.append(str(exc))
            con.execute(
                "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ? WHERE key = ? AND channel = ?",
                [str(exc), key, channel],
            )
            continue
        sent += 1
        con.execute(
            "UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL "
            "WHERE key = ? AND channel = ?",
            [now, key, channel],
        )
    return sent, failed
