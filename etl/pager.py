"""Pagination as pure state: which page to ask for next, and when a window is done.

The API pages from 0 (`page_number`), at most 100 per page, newest first, with inclusive
`created_at_gte/lte` filters and no total count. The official SDKs compute the next page as
`(page_number or 1) + 1` and so skip page 1 (docs/dodo-api.md §3); here the next page is
always the current one plus one, starting from 0, and a window is done on the first short page.

History is read as `created_at` windows (never deep page numbers, which the API caps): a window
that is still long after `SPLIT_AFTER` pages is cut at the oldest record read so far, and what
remains is split in two halves that can be fetched in parallel. A window is the unit of progress:
its rows and its removal from the plan are committed together.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PAGE_SIZE = 100
SPLIT_AFTER = 10  # pages read in one window before the rest of it is cut and split
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000  # windows hold instants in microseconds


@dataclass(frozen=True)
class Window:
    """Records created in [gte, lte], both inclusive, in microseconds since the epoch (None: unbounded)."""

    gte: int | None
    lte: int | None
    extra: tuple = ()  # fixed query parameters, e.g. (("archived", "true"),)


def page_params(window: Window, page: int) -> dict:
    params = dict(window.extra)
    params.update(page_size=PAGE_SIZE, page_number=page)
    if window.gte is not None:
        params["created_at_gte"] = iso_us(window.gte)
    if window.lte is not None:
        params["created_at_lte"] = iso_us(window.lte)
    return params


def next_step(window: Window, page: int, items: list, oldest: int | None) -> tuple[str, list[Window]]:
    """After reading `items` as page `page` of `window` (`oldest`: the oldest created_at read so far in it):

    ("done", [])             the window is complete;
    ("next", [])             read page + 1;
    ("split", [w1, w2...])   commit what was read; the rest of the window is these new windows.
    """
    if len(items) < PAGE_SIZE:
        return "done", []
    if page + 1 < SPLIT_AFTER or oldest is None or window.lte is not None and oldest >= window.lte:
        return "next", []  # (many records at one instant: keep paging rather than cut at the same place)
    rest = Window(window.gte, oldest, window.extra)  # records at `oldest` itself may be unread: keep it
    return "split", split(rest, 2)


def split(window: Window, parts: int) -> list[Window]:
    """Cut a bounded window into `parts` adjacent windows of equal span that do not overlap."""
    if window.gte is None or window.lte is None or window.lte - window.gte < parts:
        return [window]
    step = (window.lte - window.gte + 1) // parts
    bounds = [window.gte + i * step for i in range(parts)] + [window.lte + 1]
    return [Window(lo, hi - 1, window.extra) for lo, hi in zip(bounds, bounds[1:], strict=False)]


def sdk_next_page(current: int | None) -> int:
    """The official SDKs' rule, kept only to show in a test what it loses."""
    return (current or 1) + 1


def iso_us(us: int) -> str:
    """RFC 3339 in UTC with microseconds (the API's filters take date-times)."""
    t = EPOCH + timedelta(microseconds=us)
    return f"{t.year:04d}-{t:%m-%dT%H:%M:%S.%f}Z"  # strftime's %Y leaves years before 1000 unpadded


def to_us(dt: datetime) -> int:
    """An instant as windows hold it: microseconds since the epoch."""
    return (dt - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
