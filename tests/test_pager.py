"""etl/pager.py: windows, page parameters and when to cut and split a window."""

from datetime import UTC, datetime

import pytest

from etl.pager import (
    PAGE_SIZE,
    SPLIT_AFTER,
    Window,
    iso_us,
    next_step,
    page_params,
    sdk_next_page,
    split,
    to_us,
)


def full_page():
    return [{}] * PAGE_SIZE


def test_page_params_for_a_window():
    w = Window(1_780_000_000_000_000, 1_780_000_000_123_456, (("archived", "true"),))
    assert page_params(w, 3) == {
        "archived": "true",
        "page_size": 100,
        "page_number": 3,
        "created_at_gte": "2026-05-28T20:26:40.000000Z",
        "created_at_lte": "2026-05-28T20:26:40.123456Z",
    }
    assert page_params(Window(None, None), 0) == {"page_size": 100, "page_number": 0}
    assert page_params(Window(0, None), 0)["created_at_gte"] == "1970-01-01T00:00:00.000000Z"


@pytest.mark.parametrize("n", [0, 1, PAGE_SIZE - 1])
def test_next_step_short_page_is_done(n):
    w = Window(0, 1_000_000)
    assert next_step(w, 0, [{}] * n, 500) == ("done", [])
    assert next_step(w, SPLIT_AFTER + 5, [{}] * n, 500) == ("done", [])


def test_next_step_full_page_reads_on_until_split_after():
    w = Window(0, 1_000_000)
    for page in range(SPLIT_AFTER - 1):
        assert next_step(w, page, full_page(), 900_000 - page) == ("next", []), page


@pytest.mark.parametrize("gte, lte, oldest", [(0, 1_000_000, 400_000), (10, 10_000, 11), (5, 99, 98)])
def test_next_step_splits_the_unread_rest_after_split_after_pages(gte, lte, oldest):
    w = Window(gte, lte, (("status", "succeeded"),))
    step, windows = next_step(w, SPLIT_AFTER - 1, full_page(), oldest)
    assert step == "split"
    assert len(windows) == (2 if oldest - gte >= 2 else 1)  # a 2-microsecond rest is not cut further
    assert windows[0].gte == gte and windows[-1].lte == oldest
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.lte + 1 == b.gte
    assert all(x.gte <= x.lte and x.extra == w.extra for x in windows)


def test_next_step_keeps_paging_when_the_page_is_all_at_the_windows_end():
    w = Window(0, 1_000_000)
    assert next_step(w, SPLIT_AFTER - 1, full_page(), 1_000_000) == ("next", [])
    assert next_step(w, SPLIT_AFTER + 7, full_page(), 1_000_000) == ("next", [])


@pytest.mark.parametrize(
    "gte, lte", [(0, 9), (0, 10), (7, 1_000_006), (-50, 50), (1_780_000_000_000_000, 1_780_086_399_999_999)]
)
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_covers_the_window_exactly(gte, lte, parts):
    windows = split(Window(gte, lte, (("a", "b"),)), parts)
    assert len(windows) == parts
    assert windows[0].gte == gte and windows[-1].lte == lte
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.lte + 1 == b.gte
    assert all(w.gte <= w.lte and w.extra == (("a", "b"),) for w in windows)
    assert sum(w.lte - w.gte + 1 for w in windows) == lte - gte + 1


def test_split_leaves_tiny_or_unbounded_windows_whole():
    assert split(Window(5, 6), 2) == [Window(5, 6)]
    assert split(Window(None, 100), 2) == [Window(None, 100)]
    assert split(Window(0, None), 2) == [Window(0, None)]


def test_sdk_next_page_skips_page_one():
    # The API pages from 0. The SDKs' `(page_number or 1) + 1` goes 0 -> 2, so page 1 is never read.
    assert sdk_next_page(None) == 2
    assert sdk_next_page(0) == 2
    assert sdk_next_page(2) == 3


def test_instants_are_rfc3339_with_four_digit_years(reliability):
    # `--since 0001-01-01` once went out as "1-01-01T...", which the API refuses with a 422
    assert iso_us(to_us(datetime(1, 1, 1, tzinfo=UTC))) == "0001-01-01T00:00:00.000000Z"
    assert iso_us(to_us(datetime(2026, 12, 3, 4, 5, 6, 7, tzinfo=UTC))) == "2026-12-03T04:05:06.000007Z"
    reliability(
        "Year 1", "--since 0001-01-01 formatted for the API", 1, "sent as 0001-01-01T00:00:00.000000Z"
    )
