"""The order of a first sync: newest first, in stages that each make the next publish more useful
(docs/architecture.md §3.10). Pure: which stage comes next, and which windows it reads."""

from dataclasses import dataclass

from .pager import US_PER_DAY, Window, split

CHUNK_DAYS = 90  # older history is read in chunks of this many days, newest first
DECLINE_DAYS = 7  # the failed payments whose decline reasons are read before older history


@dataclass(frozen=True)
class Stage:
    name: str  # as the progress and the docs say it
    days: int | None  # the incremental resources' windows reaching into the last `days` days (None: all)
    whole: tuple[str, ...] = ()  # resources read in full (Mode.FULL and Mode.ALL)
    failed_details: bool = False  # the failed payments' details (decline reasons) within `days`
    milestone: bool = True  # published as soon as it is done; the others wait for the publish timer


OPENING = (
    # revenue, payment outcomes and fees of the last week: the first publish
    Stage("the last 7 days", 7, ("products",)),
    # every subscription's status and plan, every customer's name and country, the payouts
    Stage("subscriptions, customers and payouts", 7, ("subscriptions", "customers", "payouts")),
    # the default period of the revenue and failure pages
    Stage("the last 30 days", 30),
)


def history(mrr_days: int, oldest_us: int | None, through_us: int) -> list[Stage]:
    """The stages after OPENING, once the subscriptions say how far back MRR now reaches (`mrr_days`:
    the longest billing cycle plus the grace days). `oldest_us`: the end of the oldest window still
    waiting (None: none waits). Older history is read CHUNK_DAYS at a time, newest first."""
    stages = []
    if mrr_days > 30:
        stages.append(Stage(f"MRR now (the last {mrr_days} days)", mrr_days))
    stages.append(Stage("decline reasons of the last 7 days", DECLINE_DAYS, failed_details=True))
    if oldest_us is not None:
        days = -(-(through_us - oldest_us) // US_PER_DAY)  # rounded up: the window's end lies inside
        for horizon in range(max(mrr_days, 30) + CHUNK_DAYS, days + CHUNK_DAYS, CHUNK_DAYS):
            stages.append(Stage(f"history of the last {horizon} days", horizon, milestone=False))
        stages.append(Stage("the whole history", None, milestone=False))
    return stages


def take(
    windows: list[Window], horizon_us: int | None, parts: int
) -> tuple[list[Window], list[Window], list]:
    """The windows a stage reads (those ending at or after `horizon_us`; a window across it is cut
    there and its newer part split in `parts`), the windows left for later, and the cuts as
    (window replaced, windows replacing it) for the plan."""
    now, later, cuts = [], [], []
    for w in windows:
        if horizon_us is None or w.lte is None or w.gte is not None and w.gte >= horizon_us:
            now.append(w)
        elif w.lte < horizon_us:
            later.append(w)
        else:
            older = Window(w.gte, horizon_us - 1, w.extra)
            newer = split(Window(horizon_us, w.lte, w.extra), parts)
            now += newer
            later.append(older)
            cuts.append((w, [older, *newer]))
    return now, later, cuts
