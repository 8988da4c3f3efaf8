"""What the published warehouse holds in full while a first sync loads (its table sync_coverage,
docs/metrics.md §12), and the rule every page applies with it: a figure that needs data not loaded
yet is blanked and said, never shown as if it were whole. Pure: the warehouse comes through a reader."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from reports.query import Reader

HAS_TABLE = "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'sync_coverage'"
ROWS = "SELECT resource, state, complete_from, loaded_share FROM sync_coverage"
LISTS = ("payments", "refunds", "disputes", "ledger")  # read newest first, so complete from a date
WHOLE = ("products", "customers", "subscriptions", "payouts")  # read whole, or not yet

# mrr_monthly and churn_monthly columns by the instants they need: the month's start (t0) and end
# (t1), t1 twelve months back (NRR 12 months), and t0 of the three months before (LTV's churn rates)
AT_START = (
    "mrr_start",
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "churn",
    "customers_start",
    "churned_customers",
    "customer_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "nrr",
    "grr",
    "net_new_mrr",
    "growth_rate",
    "quick_ratio",
    "voluntary_churn",
    "involuntary_churn",
    "churned",
)
AT_END = ("mrr_end", "customers_end", "arpa", "arr", "active")


@dataclass(frozen=True)
class Coverage:
    lists_from: datetime | None = None  # payments, refunds, disputes and ledger whole from here (None: all)
    mrr_from: datetime | None = None  # MRR at an instant is right from here on (None: at every instant)
    mrr_ready: bool = True  # MRR now is right
    waiting: tuple[str, ...] = ()  # resources read whole that are not loaded yet
    share: float = 1.0  # of the history's span, loaded

    @property
    def loading(self) -> bool:
        return self.lists_from is not None or bool(self.waiting) or not self.mrr_ready

    def line(self, timezone: str) -> str:
        """What the pages show while a first sync loads ("Payments complete from 2026-11-26; ...")."""
        parts = []
        if self.lists_from is not None:
            parts.append(f"payments, refunds, disputes and fees complete from {self.first_day(timezone)}")
        if self.waiting:
            parts.append(f"{', '.join(self.waiting)} loading")
        parts.append(f"history {self.share:.0%} loaded")
        if not self.mrr_ready:
            parts.append("MRR loading")
        elif self.mrr_from is not None:
            parts.append(f"MRR right from {self.mrr_day(timezone)}")
        text = "; ".join(parts)
        return f"The first sync is still loading the history. {text[0].upper()}{text[1:]}."

    def first_day(self, timezone: str) -> date | None:
        """The first whole day (business time zone) of the lists; None when every day is whole."""
        if self.lists_from is None:
            return None
        day, midnight = _local(self.lists_from, timezone)
        return day if midnight else day + pd.Timedelta(days=1)

    def mrr_day(self, timezone: str) -> date | None:
        """The local day from which MRR is right (None: every day)."""
        return None if self.mrr_from is None else _local(self.mrr_from, timezone)[0]

    def mrr_month(self, timezone: str) -> date | None:
        """The first month whose start MRR is right at (None: every month's)."""
        if self.mrr_from is None:
            return None
        day, midnight = _local(self.mrr_from, timezone)
        first = day.replace(day=1)
        return first if day == first and midnight else (pd.Timestamp(first) + pd.DateOffset(months=1)).date()

    def blank(self, monthly: pd.DataFrame, timezone: str) -> pd.DataFrame:
        """`monthly` (a row per month) with the figures that need MRR not loaded yet blanked: those
        at a month's start before mrr_month, at its end before that, LTV without its three months
        of churn and NRR 12 months without MRR a year back. Everything, while MRR is not ready."""
        out = monthly.copy()
        if self.mrr_ready and self.mrr_from is None or out.empty:
            return out
        month = pd.to_datetime(out["month"])
        first = pd.Timestamp(self.mrr_month(timezone) or date.max)
        after = month + pd.DateOffset(months=1)
        rules = {name: month >= first for name in AT_START}
        rules |= {name: after >= first for name in AT_END}
        rules["ltv"] = month - pd.DateOffset(months=3) >= first
        rules["nrr_12m"] = after - pd.DateOffset(months=12) >= first
        for name, right in rules.items():
            if name in out.columns:
                out[name] = out[name].where(right & self.mrr_ready)
        return out


def read_coverage(reader: Reader) -> Coverage:
    """The published warehouse's coverage; a warehouse from before sync_coverage was whole."""
    if not reader(HAS_TABLE, {}).iloc[0]["n"]:
        return Coverage()
    rows = {r["resource"]: r for r in reader(ROWS, {}).to_dict("records")}
    lists = [rows[n] for n in LISTS if n in rows]
    starts = [r["complete_from"] for r in lists if r["state"] == "partial"]
    mrr = rows.get("mrr", {"state": "complete", "complete_from": None})
    return Coverage(
        lists_from=_utc(max(starts)) if starts else None,
        mrr_from=_utc(mrr["complete_from"]) if mrr["state"] == "partial" else None,
        mrr_ready=mrr["state"] != "loading",
        waiting=tuple(n for n in (*WHOLE, *LISTS) if n in rows and rows[n]["state"] == "loading"),
        share=min((float(r["loaded_share"]) for r in lists if r["state"] == "partial"), default=1.0),
    )


def _local(instant: datetime, timezone: str) -> tuple[date, bool]:
    """The instant's local day in `timezone`, and whether it is that day's midnight."""
    local = instant.astimezone(ZoneInfo(timezone))
    return local.date(), local.hour == local.minute == local.second == local.microsecond == 0


def _utc(value) -> datetime:
    return pd.Timestamp(value).to_pydatetime()
