"""What the published data describes: how recent it is, how the last sync ended and the settings the
metrics were built with. Pure: the warehouse comes through a reader, the status file and the clock
are passed in."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import NoWarehouse
from reports.coverage import Coverage, read_coverage
from reports.query import Reader

LAST_RUN = (
    "SELECT data_through, finished_at, status, error FROM sync_runs WHERE status <> 'running' "
    "ORDER BY run_id DESC LIMIT 1"
)
METRIC_SETTINGS = "SELECT * FROM metric_settings"


@dataclass(frozen=True)
class Status:
    data_through: datetime  # UTC
    status: str  # how the last run ended: ok, or failed
    error: Any  # the failed run's problem
    age_hours: float
    timezone: str  # the business time zone the metrics' days and months are in
    grace_days: int
    recovery_days: int
    coverage: Coverage = Coverage()  # what is whole while a first sync loads

    @property
    def today(self) -> date:
        """The local day of data_through: "today" for the period presets (docs/metrics.md §1)."""
        return self.data_through.astimezone(ZoneInfo(self.timezone)).date()


def describe(reader: Reader, last_run: Mapping[str, Any] | None, now: datetime) -> Status:
    """The published data's status; `last_run` is the sync's status file (a failed run publishes
    nothing, so only that file knows it failed)."""
    runs = reader(LAST_RUN, {})
    settings = reader(METRIC_SETTINGS, {})
    if runs.empty:
        raise NoWarehouse("The warehouse has no completed sync yet. Run `dodo-analytics sync`.")
    row = runs.iloc[0].to_dict()
    status, error = row["status"], row["error"]
    if (
        last_run
        and last_run.get("exit_code")
        and last_run.get("finished_at", "") > str(row["finished_at"].isoformat())
    ):
        status, error = "failed", last_run.get("problem")  # a later run failed: nothing published
    through = row["data_through"].to_pydatetime()
    return Status(
        data_through=through,
        status=status,
        error=error,
        age_hours=(now - through).total_seconds() / 3600,
        timezone=settings["timezone"].iloc[0],
        grace_days=int(settings["grace_days"].iloc[0]),
        recovery_days=int(settings["recovery_days"].iloc[0]),
        coverage=read_coverage(reader),
    )


def stamp(status: Status, stale_hours: int) -> tuple[bool, str]:
    """The "data through" line every page shows, and whether it is a warning (the last sync failed, or
    the data is older than `stale_hours`)."""
    text = f"Data through {status.data_through:%Y-%m-%d %H:%M} UTC ({_age(status.age_hours)} ago)"
    if status.status == "loading":
        text += ", published while the first sync loads"
    if status.status == "failed":
        return True, f"{text}. The last sync failed, saying:"  # its message follows, shown as plain text
    if status.age_hours > stale_hours:
        return True, f"{text}. The data is older than {stale_hours:.0f} hours: is the sync running?"
    return False, text


def _age(hours: float) -> str:
    return (
        f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
    )
