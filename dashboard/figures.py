"""Plotly figures from plain DataFrames: pure functions, no Streamlit, no queries."""

import pandas as pd
import plotly.graph_objects as go

from reports.money import exponent


def _scale(values: pd.Series, currency: str) -> pd.Series:
    return values.astype("float64") / 10 ** exponent(currency)


def lines(
    df: pd.DataFrame, x: str, ys: dict[str, str], currency: str | None = None, title: str = ""
) -> go.Figure:
    """One line per column of `ys` ({column: label}); money columns are shown in major units."""
    fig = go.Figure()
    for column, label in ys.items():
        y = _scale(df[column], currency) if currency else df[column]
        fig.add_trace(go.Scatter(x=df[x], y=y, mode="lines", name=label))
    fig.update_layout(
        title=title, margin=dict(l=10, r=10, t=40, b=10), hovermode="x unified", yaxis_title=currency or ""
    )
    return fig


def bars(
    df: pd.DataFrame,
    x: str,
    ys: dict[str, str],
    currency: str | None = None,
    title: str = "",
    stacked: bool = False,
) -> go.Figure:
    fig = go.Figure()
    for column, label in ys.items():
        y = _scale(df[column], currency) if currency else df[column]
        fig.add_trace(go.Bar(x=df[x], y=y, name=label))
    fig.update_layout(
        title=title,
        barmode="stack" if stacked else "group",
        margin=dict(l=10, r=10, t=40, b=10),
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
    fig.update_layout(
        title=f"MRR movements, {row['month']:%B %Y}",
        yaxis_title=currency,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fig


def heatmap(df: pd.DataFrame, value: str, title: str) -> go.Figure:
    """Cohorts down, months since the cohort across."""
    grid = df.pivot_table(index="cohort", columns="months_since", values=value)
    fig = go.Figure(
        go.Heatmap(
            z=grid.values,
            x=list(grid.columns),
            y=[f"{c:%Y-%m}" for c in grid.index],
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="%{y} +%{x} months: %{z:.0%}",
        )
    )
    fig.update_layout(
        title=title, xaxis_title="months since first payment", margin=dict(l=10, r=10, t=40, b=10)
    )
    return fig
