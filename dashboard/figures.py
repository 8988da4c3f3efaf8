"""Plotly figures from plain DataFrames: pure functions, no Streamlit, no queries.

Every clickable point carries its own key in `customdata` (the bucket's first day, or the label), so
a click lists that point's records whatever Plotly reports as its x (a grouped bar's x is shifted off
its bucket). A DataFrame with an `is_complete` column marks its partial buckets: hollow points,
hatched bars, and a note in the title. Labels that came from the API (decline codes, product names)
are shown as text: Plotly renders a subset of HTML in tick labels, hovers and titles."""

import html
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go

from reports.money import exponent

PARTIAL_NOTE = "hollow or hatched: still running"
# the same series in the same colour on every page; other series take Plotly's palette
COLORS = {
    "Gross": "#1f4e99",
    "Net": "#5b9bd5",
    "MRR": "#6a3d9a",
    "ARR": "#b39ddb",
    "New": "#2e7d32",
    "Reactivation": "#81c784",
    "Expansion": "#00897b",
    "Contraction": "#f57c00",
    "Churn": "#c62828",
    "Churned": "#c62828",
    "Refunds": "#f57c00",
    "Disputes lost": "#c62828",
    "Success rate": "#2e7d32",
    "Failure rate": "#c62828",
    "Renewal failure rate": "#f57c00",
    "Paid out": "#1f4e99",
}
MARGIN = dict(l=10, r=10, t=40, b=10)


def _scale(values: pd.Series, currency: str) -> pd.Series:
    return values.astype("float64") / 10 ** exponent(currency)


def key(value: object) -> str:
    """A point's key as the records query takes it: a bucket's first day as YYYY-MM-DD, else the text."""
    if isinstance(value, datetime | pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def text(value: object) -> str:
    """Outside text fit for Plotly's labels: its HTML subset escaped, so `<a href>` stays letters."""
    return html.escape(str(value), quote=False)


def _x(df: pd.DataFrame, x: str) -> list:
    """Dates stay dates (a date axis); labels are escaped."""
    return [v if isinstance(v, date | datetime | pd.Timestamp) else text(v) for v in df[x]]


def _partial(df: pd.DataFrame) -> list[bool]:
    return [not c for c in df["is_complete"]] if "is_complete" in df else [False] * len(df)


def _title(title: str, df: pd.DataFrame) -> str:
    return f"{title} ({PARTIAL_NOTE})" if any(_partial(df)) else title


def _line(partial: list[bool], **fields) -> go.Scatter:
    marker = dict(symbol=["circle-open" if p else "circle" for p in partial], size=7)
    return go.Scatter(mode="lines+markers", marker=marker, **fields)


def _bar(partial: list[bool], **fields) -> go.Bar:
    return go.Bar(marker_pattern_shape=["/" if p else "" for p in partial], **fields)


def _traces(df: pd.DataFrame, x: str, ys: dict[str, str], currency: str | None, trace) -> go.Figure:
    """One trace per column of `ys` ({column: label}), money in major units, each point keyed;
    `trace` (_line or _bar) marks the partial points its own way."""
    fig, partial = go.Figure(), _partial(df)
    for column, label in ys.items():
        y = _scale(df[column], currency) if currency else df[column]
        fig.add_trace(trace(partial, x=_x(df, x), y=y, name=label, customdata=[key(v) for v in df[x]]))
        if color := COLORS.get(label):
            fig.data[-1].update(marker_color=color, **({"line_color": color} if trace is _line else {}))
    return fig


def lines(
    df: pd.DataFrame,
    x: str,
    ys: dict[str, str],
    currency: str | None = None,
    title: str = "",
    percent: bool = False,
    right: dict[str, str] | None = None,
) -> go.Figure:
    """One line per column of `ys`, its partial points hollow; rates (fractions) as percentages with
    `percent`; the columns of `right` on an axis of their own (ARR beside MRR, a twelfth of its scale)."""
    fig = _traces(df, x, {**ys, **(right or {})}, currency, _line)
    for trace in fig.data[len(ys) :]:
        trace.update(yaxis="y2")
    fig.update_layout(
        title=_title(title, df), margin=MARGIN, hovermode="x unified", yaxis_title=currency or ""
    )
    if right:
        names = ", ".join(right.values())
        fig.update_layout(
            yaxis2=dict(title=f"{names} ({currency})" if currency else names, overlaying="y", side="right"),
            legend=dict(orientation="h", y=-0.15),
        )
    if percent:
        fig.update_layout(yaxis_tickformat=".0%")
        fig.update_traces(hovertemplate="%{y:.1%}")
    if x == "month":
        _month_axis(fig, df[x])
    return fig


def _month_axis(fig: go.Figure, months: pd.Series) -> None:
    """Months as "Jun 2026"; one month alone (a first sync's MRR, say) gets a month either side,
    where Plotly would spread milliseconds around it."""
    fig.update_xaxes(tickformat="%b %Y")
    if months.nunique() == 1:
        only = pd.Timestamp(months.iloc[0])
        fig.update_xaxes(range=[only - pd.DateOffset(months=1), only + pd.DateOffset(months=1)], dtick="M1")


def bars(
    df: pd.DataFrame,
    x: str,
    ys: dict[str, str],
    currency: str | None = None,
    title: str = "",
    stacked: bool = False,
) -> go.Figure:
    """Bars per column of `ys`, grouped or stacked, their partial buckets hatched."""
    fig = _traces(df, x, ys, currency, _bar)
    fig.update_layout(
        title=_title(title, df),
        barmode="stack" if stacked else "group",
        margin=MARGIN,
        yaxis_title=currency or "",
    )
    return fig


def waterfall(row: pd.Series, currency: str) -> go.Figure:
    """A month's MRR bridge: start, + new, + reactivation, + expansion, - contraction, - churn, end."""
    steps = [
        ("MRR at start", row["mrr_start"], "absolute"),
        ("New", row["new"], "relative"),
        ("Reactivation", row["reactivation"], "relative"),
        ("Expansion", row["expansion"], "relative"),
        ("Contraction", -row["contraction"], "relative"),
        ("Churn", -row["churn"], "relative"),
        ("MRR at end", row["mrr_end"], "total"),
    ]
    scale = 10 ** exponent(currency)
    fig = go.Figure(
        go.Waterfall(x=[s[0] for s in steps], y=[s[1] / scale for s in steps], measure=[s[2] for s in steps])
    )
    partial = "" if row.get("is_complete", True) else " (so far: the month is still running)"
    fig.update_layout(
        title=f"MRR movements, {row['month']:%B %Y}{partial}", yaxis_title=currency, margin=MARGIN
    )
    return fig


def cohort_grid(df: pd.DataFrame, value: str, title: str) -> go.Figure:
    """Cohorts down, months since the cohort across, each cell a clickable square with its value
    (Plotly cannot select a heatmap's cells; it can select markers). Its key is "cohort|months"."""
    cohorts = [f"{c:%Y-%m}" for c in df["cohort"]]
    values = df[value].astype("float64")
    fig = go.Figure(
        go.Scatter(
            x=df["months_since"],
            y=cohorts,
            mode="markers+text",
            text=[f"{v:.0%}" for v in values],
            textfont=dict(size=10),
            customdata=[f"{c}|{m}" for c, m in zip(cohorts, df["months_since"], strict=True)],
            hovertemplate="cohort %{y}, month %{x}: %{text}<extra></extra>",
            marker=dict(
                symbol="square",
                size=30,
                color=values,
                colorscale="Blues",
                cmin=0,
                cmax=max(1.0, float(values.max()) if len(values) else 1.0),
                showscale=True,
            ),
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(title="months since the cohort's month", dtick=1),
        yaxis=dict(title="cohort", autorange="reversed", type="category"),
        margin=MARGIN,
    )
    return fig
