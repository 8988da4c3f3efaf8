"""What each rule finds in a warehouse just synced: events, each with the key that makes it alert once
(the same event found by a later run has the same key). Queries over the metric tables of
docs/metrics.md; pure but for the connection they read.

Rules over history (a day's success rate, a movement, a dispute, a payout, a decline spike) alert on
what appears after alerts were switched on: the first check records what is already there without
sending it. Rules about now (the sync failing, stale data, MRR against the last check) alert from the
first check."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reports.money import exponent, money

HISTORY = ("success_rate", "movement", "dispute_opened", "payout_tie_out", "decline_spike")


@dataclass(frozen=True)
class Event:
    key: str
    rule: str
    subject: str
    text: str
    html: str | None = None


def _rows(con, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()


def success_rate(con, below_percent: float, min_payments: int, **_) -> list[Event]:
    rows = _rows(
        con,
        """SELECT day, currency, succeeded, failed, success_rate FROM payment_outcomes_daily
           WHERE is_complete AND succeeded + failed >= $n AND success_rate < $rate ORDER BY day, currency""",
        {"n": min_payments, "rate": below_percent / 100},
    )
    return [
        Event(
            f"success_rate:{currency}:{day}",
            "success_rate",
            f"Payment success rate {rate:.1%} on {day} ({currency})",
            f"{succeeded:,} of {succeeded + failed:,} final {currency} payments succeeded on {day}: {rate:.1%}, "
            f"below the {below_percent:g}% the rule watches.",
        )
        for day, currency, succeeded, failed, rate in rows
    ]


def mrr_now(con) -> dict[str, float]:
    return dict(_rows(con, "SELECT currency, sum(mrr) FROM subscription_mrr_now GROUP BY ALL"))


def mrr_drop(
    con, percent: float, last: dict[str, float], current: dict[str, float], checked_at: datetime, **_
) -> list[Event]:
    """MRR now (`current`, mrr_now) against the MRR the last check saw (`last`), per currency."""
    events = []
    for currency, mrr in sorted(current.items()):
        before = last.get(currency)
        if before and mrr < before * (1 - percent / 100):
            drop = (before - mrr) / before
            events.append(
                Event(
                    f"mrr_drop:{currency}:{checked_at:%Y-%m-%dT%H:%M}",
                    "mrr_drop",
                    f"MRR down {drop:.1%} in {currency}",
                    f"MRR is {money(mrr, currency)}, down {drop:.1%} from {money(before, currency)} at the last "
                    f"check (the rule watches drops over {percent:g}%).",
                )
            )
    return events


def movement(con, at_least: float, **_) -> list[Event]:
    rows = _rows(
        con,
        """SELECT m.month, m.customer_id, m.currency, m.movement, m.a, m.b, c.email, c.name
           FROM mrr_movements m LEFT JOIN customers c USING (customer_id)
           WHERE m.movement <> 'unchanged' ORDER BY m.month, m.customer_id""",
    )
    events = []
    for month, customer, currency, kind, a, b, email, name in rows:
        if abs(b - a) < at_least * 10 ** exponent(currency):
            continue
        who = " ".join(filter(None, [name, f"<{email}>" if email else None])) or customer
        events.append(
            Event(
                f"movement:{month}:{customer}:{currency}:{kind}",
                "movement",
                f"MRR {kind}: {who}, {money(b - a, currency)}",
                f"{who} ({customer}): {kind} in {month:%Y-%m}, MRR {money(a, currency)} to {money(b, currency)}.",
            )
        )
    return events


def dispute_opened(con, **_) -> list[Event]:
    rows = _rows(
        con,
        """SELECT x.dispute_id, x.created_at, x.amount, x.currency, x.payment_id, x.dispute_status, p.customer_email
           FROM placed_disputes x LEFT JOIN payments p USING (payment_id) ORDER BY x.created_at""",
    )
    return [
        Event(
            f"dispute:{dispute}",
            "dispute_opened",
            f"Dispute opened: {money(amount, currency)}",
            f"Dispute {dispute} on payment {payment} ({email or 'no e-mail'}), {money(amount, currency)}, opened "
            f"{created:%Y-%m-%d %H:%M} UTC; now {status}.",
        )
        for dispute, created, amount, currency, payment, status, email in rows
    ]


def payout_tie_out(con, **_) -> list[Event]:
    rows = _rows(
        con,
        "SELECT payout_id, created_at, currency, amount, settled, difference FROM payout_tieout "
        "WHERE difference <> 0 ORDER BY created_at",
    )
    return [
        Event(
            f"payout:{payout}:{difference}",
            "payout_tie_out",
            f"Payout {payout} does not tie out ({money(difference, currency)})",
            f"Payout {payout} of {created:%Y-%m-%d} ({money(amount, currency)}): the ledger entries it settles "
            f"come to {money(settled, currency)}, leaving {money(difference, currency)} unexplained.",
        )
        for payout, created, currency, amount, settled, difference in rows
    ]


def decline_spike(con, factor: float, min_count: int, **_) -> list[Event]:
    """A decline code's failures on a complete day at least `factor` times its daily mean over the 7
    days before (days without one count as 0)."""
    rows = _rows(
        con,
        """WITH days AS (
               SELECT local_day AS day, currency, failure_reason AS code, count(*) AS n FROM counted_payments
               WHERE status = 'failed' GROUP BY ALL),
           before AS (
               SELECT d.day, d.currency, d.code, d.n,
                      coalesce((SELECT sum(b.n) FROM days b WHERE b.currency = d.currency AND b.code = d.code
                                AND b.day BETWEEN d.day - 7 AND d.day - 1), 0) / 7.0 AS mean
               FROM days d)
           SELECT b.day, b.currency, b.code, b.n, b.mean FROM before b
           JOIN payment_outcomes_daily o ON o.day = b.day AND o.currency = b.currency AND o.is_complete
           WHERE b.n >= $min AND b.n >= $factor * b.mean ORDER BY b.day, b.code""",
        {"min": min_count, "factor": factor},
    )
    return [
        Event(
            f"decline:{currency}:{code}:{day}",
            "decline_spike",
            f"Declines spiking: {code} ({currency}, {day})",
            f"{n:,} {currency} payments failed with {code} on {day}, against {mean:.1f} a day over the week before.",
        )
        for day, currency, code, n, mean in rows
    ]


def sync_failing(con, error: str | None, **_) -> list[Event]:
    """This run failed: one alert per failure streak (keyed by the last run that succeeded)."""
    if not error:
        return []
    last_ok = _rows(con, "SELECT max(run_id) FROM sync_runs WHERE status IN ('ok', 'ok_with_rejects')")[0][0]
    return [
        Event(
            f"sync_failed:{last_ok or 0}",
            "sync_failing",
            "The Dodo Analytics sync is failing",
            f"The sync failed: {error}\nNothing new is published until it succeeds; this alert is sent once "
            "per run of failures.",
        )
    ]


def stale(con, hours: int, checked_at: datetime, error: str | None = None, **_) -> list[Event]:
    """The data is older than `hours`: this run's when it succeeded, else the last successful one's."""
    last_ok = "SELECT max(data_through) FROM sync_runs WHERE status IN ('ok', 'ok_with_rejects')"
    through = _rows(con, last_ok if error else "SELECT data_through FROM metric_settings")[0][0]
    if through is None or checked_at - through <= timedelta(hours=hours):
        return []
    age = (checked_at - through).total_seconds() / 3600
    return [
        Event(
            f"stale:{through:%Y-%m-%dT%H:%M:%S}",
            "stale",
            f"Dodo Analytics data is {age:.0f} hours old",
            f"The published data runs through {through:%Y-%m-%d %H:%M} UTC, {age:.0f} hours ago (the rule "
            f"watches {hours} hours). Check the sync's cron job and `dodo-analytics doctor`.",
        )
    ]


FIND = {
    "success_rate": success_rate,
    "mrr_drop": mrr_drop,
    "movement": movement,
    "dispute_opened": dispute_opened,
    "payout_tie_out": payout_tie_out,
    "decline_spike": decline_spike,
    "sync_failing": sync_failing,
    "stale": stale,
}
