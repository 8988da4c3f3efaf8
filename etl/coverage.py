"""What a published warehouse holds in full: `sync_coverage`, one row per resource and one for MRR,
rebuilt at every publish from the plan (sync_state, sync_windows). A first sync publishes while
it loads (docs/architecture.md §3.10); this table is how every page knows what it may claim
(docs/metrics.md §12)."""

from dataclasses import dataclass

from .pager import US_PER_DAY, from_us, to_us
from .resources import RESOURCES, Mode

# The longest billing cycle of any subscription, in days (a month counted as 31, a year as 366)
LONGEST_CYCLE = """
SELECT coalesce(max(payment_frequency_count * CASE payment_frequency_interval
    WHEN 'Day' THEN 1 WHEN 'Week' THEN 7 WHEN 'Month' THEN 31 ELSE 366 END), 0) FROM subscriptions
"""
DDL = """
CREATE OR REPLACE TABLE sync_coverage (
    resource VARCHAR PRIMARY KEY, state VARCHAR, complete_from TIMESTAMPTZ, complete_through TIMESTAMPTZ,
    history_from TIMESTAMPTZ, loaded_share DOUBLE)
"""
# what makes MRR at an instant right: the subscriptions, and the payments and their tax back to it
MRR_NEEDS = ("payments", "ledger")


@dataclass(frozen=True)
class Row:
    resource: str
    state: str  # complete; partial (complete from complete_from on); loading (nothing whole yet)
    complete_from: int | None = None  # microseconds; None: from the start of the history
    complete_through: int | None = None
    history_from: int | None = None  # where the history starts, while it loads
    loaded_share: float = 1.0  # of the history's span, while it loads


def mrr_days(con, grace_days: int) -> int:
    """How far back payments must be loaded for MRR now to be right: the longest billing cycle plus
    the grace days (docs/metrics.md §3.2); 0 without subscriptions."""
    cycle = con.execute(LONGEST_CYCLE).fetchall()[0][0]
    return int(cycle) + grace_days if cycle else 0


def rows(state: dict, pending: dict, mrr_days: int, skipped=()) -> list[Row]:
    """Pure: `state` maps a resource to its (complete_through, planned_through) and `pending` to its
    waiting windows' (min gte, max lte, count), all in microseconds; `skipped`: the resources the key
    may not read."""
    out = []
    for name, r in RESOURCES.items():
        complete, planned = state.get(name, (None, None))
        low, high, waiting = pending.get(name, (None, None, 0))
        if name in skipped:
            out.append(Row(name, "not read", loaded_share=0.0))
        elif not waiting and planned is not None:  # every window of its plan is committed
            out.append(Row(name, "complete", None, complete if complete is not None else planned))
        elif complete is not None:  # a later pass reading what is new: what was complete still is
            out.append(Row(name, "complete", None, complete))
        elif r.mode is Mode.INCREMENTAL and high is not None and planned is not None:
            start = high + 1  # every window after the newest one waiting is committed
            span = planned - (low if low is not None else start)
            share = (planned - start) / span if span > 0 else 0.0
            out.append(Row(name, "partial", start, planned, low, max(0.0, min(1.0, share))))
        else:
            out.append(Row(name, "loading", loaded_share=0.0))
    by_name = {row.resource: row for row in out}
    subscriptions, needed = by_name["subscriptions"], [by_name[n] for n in MRR_NEEDS]
    through = min((row.complete_through for row in needed if row.complete_through is not None), default=None)
    if subscriptions.state != "complete" or any(row.state == "loading" for row in needed):
        out.append(Row("mrr", "loading", loaded_share=0.0))
    elif all(row.state == "complete" for row in needed):
        out.append(Row("mrr", "complete", None, through))
    else:
        start = max(row.complete_from or 0 for row in needed) + mrr_days * US_PER_DAY
        state_ = "partial" if through is not None and start <= through else "loading"
        out.append(Row("mrr", state_, start, through, loaded_share=0.0))
    return out


def build(con, grace_days: int, skipped=()) -> None:
    """Rebuild sync_coverage in the working copy (on the writer thread, or after the pass)."""
    state = {
        name: (_us(complete), _us(planned))
        for name, complete, planned in con.execute("SELECT * FROM sync_state").fetchall()
    }
    pending = {
        name: (low, high, n)
        for name, low, high, n in con.execute(
            "SELECT resource, min(gte), max(lte), count(*) FROM sync_windows GROUP BY resource"
        ).fetchall()
    }
    con.execute(DDL)
    con.executemany(
        "INSERT INTO sync_coverage VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                r.resource,
                r.state,
                _dt(r.complete_from),
                _dt(r.complete_through),
                _dt(r.history_from),
                r.loaded_share,
            )
            for r in rows(state, pending, mrr_days(con, grace_days), skipped)
        ],
    )


def _us(value):
    return None if value is None else to_us(value)


def _dt(us):
    return None if us is None else from_us(us)
