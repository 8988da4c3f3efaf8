"""The widgets every page shares: the password gate, the sidebar filters, the header with its "data
through" stamp, and charts whose points list the records behind them. The filters live in
st.session_state under fixed keys, so they survive page changes; `header` hands them to the page as
`Filters`."""

import hmac
import sys
import time
from collections import deque
from datetime import timedelta
from typing import Any

import streamlit as st

from core.errors import NoWarehouse, SettingsError
from core.settings import Settings
from dashboard import data, gate
from reports import customers, revenue, tables
from reports.filters import CURRENCIES, PRESETS, PRODUCTS, Filters, period
from reports.money import compact, money
from reports.query import Chart
from reports.status import Status, stamp

# wrong passwords of the last minute, for every session of this process: each costs a growing wait
_FAILURES: deque[float] = deque(maxlen=64)


def password_ok() -> bool:
    """With a password configured (DODO_ANALYTICS_PASSWORD_FILE), nothing renders before it is given.
    An unreadable password file stops every page, saying why: never open without one."""
    try:
        expected = settings().dashboard_password()
    except SettingsError as exc:
        st.error(str(exc))
        st.stop()
    if not expected or st.session_state.get("authenticated"):
        return True
    given = st.text_input("Password", type="password")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state["authenticated"] = True
        gate.admit(st.context.cookies.get(gate.COOKIE))  # this browser's downloads (dashboard/gate.py)
        st.rerun()
    if given:
        now = time.monotonic()
        while _FAILURES and now - _FAILURES[0] > 60:
            _FAILURES.popleft()
        _FAILURES.append(now)
        print(
            f"dodo-analytics dashboard: a wrong password ({len(_FAILURES)} in the last minute)",
            file=sys.stderr,
        )
        time.sleep(min(len(_FAILURES), 10))  # a guesser gets one try a second at best, then fewer
        st.error("Wrong password.")
    return False


def settings() -> Settings:
    """The settings; a bad one is said in one line and nothing else runs (the operator fixes the
    environment; a traceback would not help)."""
    try:
        return data.settings()
    except SettingsError as exc:
        st.error(str(exc))
        st.stop()


def sidebar(settings: Settings) -> None:
    """The shared filters. Dates are local days in the business time zone, both inclusive."""
    try:
        currencies = data.query(CURRENCIES)
    except NoWarehouse:
        return
    options = list(currencies["currency"]) or ["USD"]
    with st.sidebar:
        st.selectbox("Currency", options, key="currency", help="Money is never added across currencies.")
        products = data.query(PRODUCTS)
        names = dict(zip(products["product_id"], products["name"], strict=True))
        st.multiselect(
            "Product",
            list(names),
            key="products",
            format_func=lambda product: names[product],
            placeholder="All products",
            help="A payment's product is its subscription's plan, or a one-time payment's product "
            "where its detail is fetched.",
        )
        st.selectbox("Period", PRESETS, key="preset")
        if st.session_state.get("preset") == "Custom":
            last = data.status().today  # "today" is the day of data_through, as in docs/metrics.md §1
            st.date_input("From", key="custom_from", value=last - timedelta(days=29))
            st.date_input("To", key="custom_to", value=last)
        if settings.environment:
            st.caption(f"Mode: {'TEST' if settings.environment == 'test_mode' else 'LIVE'}")


def filters(status: Status) -> Filters:
    """The sidebar's choices as Filters; the period ends on the data's last day, not the wall clock's."""
    state = st.session_state
    start, end = period(
        state.get("preset", PRESETS[0]), status.today, state.get("custom_from"), state.get("custom_to")
    )
    return Filters(
        currency=state.get("currency") or "USD",
        products=tuple(state.get("products") or ()),
        start=start,
        end=end,
        timezone=status.timezone,
    )


def header(title: str) -> tuple[Filters, Status]:
    """Title, 'data through' stamp (a warning when old or when the last sync failed), and the filters.
    With no data yet, an explanation instead of a page: the page stops here."""
    st.title(title)
    try:
        now = data.status()
    except NoWarehouse as exc:
        st.info(str(exc))
        st.stop()
    warn, text = stamp(now, data.settings().stale_hours)
    if warn:
        st.warning(text)
        if now.status == "failed":
            st.text(now.error or "(no message)")  # it may hold the API's own text: plain, never markdown
    else:
        st.caption(text)
    chosen = filters(now)
    if now.coverage.loading:  # our own words and dates: no text from the API
        st.info(now.coverage.line(now.timezone))
        if not whole(chosen, now):
            st.warning(
                f"This period starts before {now.coverage.first_day(now.timezone)}: its payments, refunds, "
                "disputes and fees before that day are still loading, so its totals are incomplete."
            )
    return chosen, now


def whole(period: Filters, status: Status) -> bool:
    """Whether every payment, refund, dispute and fee of the period is loaded (a first sync loads the
    newest first): a comparison with an earlier period is made only when that one is whole too."""
    first = status.coverage.first_day(status.timezone)
    return first is None or period.first_day >= first


def loaded(monthly: Any, columns: Any, what: str) -> bool:
    """Whether any month has one of `columns` loaded; if none has (a first sync still loading), a
    caption says so where the chart would be, rather than an empty chart."""
    if monthly.empty or monthly[list(columns)].notna().any().any():
        return True
    st.caption(f"{what}: no month of the period has its MRR loaded yet.")
    return False


def blank(monthly: Any, status: Status) -> Any:
    """A page's monthly MRR rows with the figures that need MRR not loaded yet blanked."""
    return status.coverage.blank(monthly, status.timezone)


def card_columns(n: int) -> list[Any]:
    """Places for `n` cards, three to a row: a card keeps about 300 px from 1280 px wide, enough for
    its figure and its comparison whole."""
    places: list[Any] = []
    for start in range(0, n, 3):
        places += st.columns(3)[: min(3, n - start)]
    return places


def money_card(
    where: Any, label: str, amount: Any, currency: str, delta: str | None = None, **kw: Any
) -> None:
    """A card whose figure is compact ("26.0k USD") and whose help gives the exact amount."""
    exact = f"Exact: {money(amount, currency)}."
    where.metric(
        label,
        compact(amount, currency),
        delta,
        help=" ".join(filter(None, [kw.pop("help", None), exact])),
        **kw,
    )


def known(rows: Any, label: str, unknown: str, value: str, what: str, where: Any = st) -> Any:
    """The rows whose `label` is known; the share of `value` the unknown row holds is said, not
    plotted as if it were a category ("Country known for 82% of this volume")."""
    missing = rows[rows[label] == unknown]
    total, gap = rows[value].sum(), missing[value].sum()
    if total and gap:
        where.caption(
            f"{what} known for {1 - gap / total:.0%} of it: the rest waits for the payment's detail."
        )
    return rows[rows[label] != unknown]


def provisional(filters: Filters) -> None:
    """Says how many of the period's succeeded payments count only until their detail is fetched."""
    row = data.query(revenue.PROVISIONAL, filters.params()).iloc[0]
    if row["n"]:
        st.caption(
            f"{int(row['n']):,} succeeded payments ({money(row['amount'], filters.currency)}) count "
            "provisionally: they charge no subscription period, so they may only have updated a card; "
            "the next syncs fetch their details first and leave them out if so."
        )


def table(rows: Any, currency: str, where: Any = st) -> None:
    """Records as people read them (reports.tables): money in major units, headers, blanks; a row
    with a customer links to the customer's profile."""
    shown, decimals = tables.shown(rows, currency)
    config: dict[str, Any] = {
        name: st.column_config.NumberColumn(format=f"%.{d}f") for name, d in decimals.items()
    }
    if "customer_id" in rows.columns:
        shown.insert(
            0, "Profile", [customers.link(c) if isinstance(c, str) else None for c in rows["customer_id"]]
        )
        config["Profile"] = st.column_config.LinkColumn(display_text="Open profile", width="small")
    where.dataframe(shown, hide_index=True, column_config=config)


def _picked(event: Any) -> list[str]:
    """The keys of the clicked points: each figure puts its point's key in `customdata`."""
    points = event.selection.points if event and event.selection else []
    keys = set()
    for point in points:
        data_ = point.get("customdata") if hasattr(point, "get") else getattr(point, "customdata", None)
        if isinstance(data_, list):
            data_ = data_[0] if data_ else None
        if data_ is not None:
            keys.add(str(data_))
    return sorted(keys)


def chart(fig: Any, key: str, source: Chart, filters: Filters, where: Any = st, **more: Any) -> None:
    """A chart whose points can be clicked to list the records behind them: `source.records` gets the
    picked points' keys (the buckets' first days, or the labels) as $picked, with the chart's other
    parameters."""
    picked = _picked(where.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points"))
    if not picked:
        where.caption("Click a bar or point to list the records behind it.")
        return
    rows = data.query(source.records, source.values(filters, **more, picked=picked))
    where.caption(f"{len(rows):,} records behind the clicked point (at most 5,000 shown):")
    where.text(", ".join(picked))  # a label may be the API's text (a decline code, a product name)
    table(rows, filters.currency, where)


def cohort_chart(fig: Any, key: str, source: Chart, filters: Filters, where: Any = st) -> None:
    """A cohort grid whose cells list their customers: a cell's key is "cohort|months since"."""
    picked = _picked(where.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points"))
    if not picked:
        where.caption("Click a cell to list the cohort's customers at that month.")
        return
    cohort, months = picked[0].split("|")
    rows = data.query(source.records, source.values(filters, months=int(months), cohort=cohort))
    where.caption(
        f"Cohort {cohort}, {months} months on: {int((rows['mrr_at_month_end'] > 0).sum()):,} of "
        f"{len(rows):,} customers still paying"
    )
    table(rows, filters.currency, where)
