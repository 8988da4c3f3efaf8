"""A digest of one day, week or month (local, in the business time zone) against the period before:
MRR and its movements, revenue, new and churned customers, failures and recovery, and the period's
biggest movements; per currency (money is never added across currencies). An HTML e-mail with a
plain-text part; every text from the API is escaped in the HTML."""

import html
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reports.money import money

from .rules import Event


def period_start(day: date, cadence: str) -> date:
    """The first day of the period of `cadence` holding `day` (weeks start on Monday)."""
    if cadence == "daily":
        return day
    if cadence == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: date, cadence: str) -> date:
    if cadence == "daily":
        return start + timedelta(days=1)
    if cadence == "weekly":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_start(start: date, cadence: str) -> date:
    if cadence == "monthly":
        return (start - timedelta(days=1)).replace(day=1)
    return start - (timedelta(days=1) if cadence == "daily" else timedelta(days=7))


def ended(first_sent: date, data_through: datetime, timezone: str, cadence: str) -> list[date]:
    """The periods from `first_sent`'s on whose last day had ended by `data_through`, oldest first."""
    today = data_through.astimezone(ZoneInfo(timezone)).date()
    out, start = [], period_start(first_sent, cadence)
    while next_start(start, cadence) <= today:
        out.append(start)
        start = next_start(start, cadence)
    return out


# each customer's MRR at the two ends of [t0, t1) (mrr_intervals): `a` at the start, `b` at the end
ENDS = """at0 AS (SELECT customer_id, currency, sum(monthly_value) AS m FROM mrr_intervals
                 WHERE valid_from <= $t0 AND valid_to > $t0 GROUP BY ALL),
     at1 AS (SELECT customer_id, currency, sum(monthly_value) AS m FROM mrr_intervals
             WHERE valid_from <= $t1 AND valid_to > $t1 GROUP BY ALL),
     ends AS (SELECT customer_id, currency, coalesce(at0.m, 0) AS a, coalesce(at1.m, 0) AS b
              FROM at0 FULL JOIN at1 USING (customer_id, currency))"""
# the movements between the two ends as in docs/metrics.md §3.4; revenue and outcomes from the daily
# tables over the local days
FIGURES = f"""
WITH {ENDS},
     moved AS (SELECT e.currency, sum(a) AS mrr_start, sum(b) AS mrr_end,
                      coalesce(sum(b) FILTER (a = 0 AND b > 0 AND c.first_at >= $t0), 0) AS new,
                      coalesce(sum(b) FILTER (a = 0 AND b > 0 AND c.first_at < $t0), 0) AS reactivation,
                      coalesce(sum(b - a) FILTER (a > 0 AND b > a), 0) AS expansion,
                      coalesce(sum(a - b) FILTER (b > 0 AND b < a), 0) AS contraction,
                      coalesce(sum(a) FILTER (a > 0 AND b = 0), 0) AS churn,
                      count(*) FILTER (a = 0 AND b > 0 AND c.first_at >= $t0) AS new_customers,
                      count(*) FILTER (a > 0 AND b = 0) AS churned_customers
               FROM ends e LEFT JOIN customer_cohorts c USING (customer_id, currency) GROUP BY ALL),
     revenue AS (SELECT currency, sum(gross_volume) AS gross, sum(net_volume) AS net FROM revenue_daily
                 WHERE day >= $d0 AND day < $d1 GROUP BY ALL),
     outcomes AS (SELECT currency, sum(succeeded) AS succeeded, sum(failed) AS failed FROM payment_outcomes_daily
                  WHERE day >= $d0 AND day < $d1 GROUP BY ALL),
     recovered AS (SELECT currency, count(*) AS recovered, sum(recovered_amount) AS recovered_amount
                   FROM failed_renewals WHERE recovered AND closed_at >= $t0 AND closed_at < $t1 GROUP BY ALL)
SELECT currency, coalesce(mrr_start, 0), coalesce(mrr_end, 0), coalesce(new, 0), coalesce(reactivation, 0),
       coalesce(expansion, 0), coalesce(contraction, 0), coalesce(churn, 0), coalesce(new_customers, 0),
       coalesce(churned_customers, 0), coalesce(gross, 0), coalesce(net, 0), coalesce(succeeded, 0),
       coalesce(failed, 0), coalesce(recovered, 0), coalesce(recovered_amount, 0)
FROM moved FULL JOIN revenue USING (currency) FULL JOIN outcomes USING (currency) FULL JOIN recovered USING (currency)
ORDER BY currency"""
NAMES = (
    "mrr_start mrr_end new reactivation expansion contraction churn new_customers churned_customers "
    "gross net succeeded failed recovered recovered_amount"
).split()
ROWS = [
    ("MRR at the end", "mrr_end"),
    *[(f"MRR {k}", k) for k in ("new", "reactivation", "expansion", "contraction", "churn")],
    ("Gross volume", "gross"),
    ("Net volume", "net"),
    ("New customers", "new_customers"),
    ("Churned customers", "churned_customers"),
    ("Failed payments", "failed"),
    ("Failed renewals recovered", "recovered"),
    ("Recovered amount", "recovered_amount"),
]
COUNTS = ("new_customers", "churned_customers", "failed", "recovered")
BIGGEST = f"""WITH {ENDS}
SELECT customer_id, currency, a, b, c.email FROM ends LEFT JOIN customers c USING (customer_id)
WHERE a <> b  -- the five biggest of each currency: amounts in two currencies are never ranked together
QUALIFY row_number() OVER (PARTITION BY currency ORDER BY abs(b - a) DESC, customer_id) <= 5
ORDER BY currency, abs(b - a) DESC, customer_id"""


def bounds(start: date, end: date, timezone: str) -> dict[str, Any]:
    """The local days [start, end) as the queries take them: instants $t0, $t1 and days $d0, $d1."""
    zone = ZoneInfo(timezone)
    t0, t1 = (datetime.combine(d, datetime.min.time(), zone) for d in (start, end))
    return {"t0": t0, "t1": t1, "d0": start, "d1": end}


def figures(con, start: date, end: date, timezone: str) -> dict[str, dict[str, float]]:
    """{currency: {figure: value}} over the local days [start, end)."""
    rows = con.execute(FIGURES, bounds(start, end, timezone)).fetchall()
    return {row[0]: dict(zip(NAMES, row[1:], strict=True)) for row in rows}


def build(con, cadence: str, start: date, timezone: str, dashboard_url: str) -> Event:
    end, before = next_start(start, cadence), previous_start(start, cadence)
    now, then = figures(con, start, end, timezone), figures(con, before, start, timezone)
    period = bounds(start, end, timezone)
    biggest = con.execute(BIGGEST, {"t0": period["t0"], "t1": period["t1"]}).fetchall()
    title = f"Dodo Analytics {cadence} digest: {start}" + (
        "" if cadence == "daily" else f" to {end - timedelta(days=1)}"
    )
    lines: list[tuple[str, str, str]] = []  # (currency, label, value with the period before's)
    for currency, f in now.items():
        p = then.get(currency, {})
        for label, key in ROWS:
            is_money = key not in COUNTS
            value, old = (money(v, currency) if is_money else f"{int(v):,}" for v in (f[key], p.get(key, 0)))
            lines.append((currency, label, f"{value} (period before: {old})"))
    events = [
        f"{email or customer} ({currency}): MRR {money(a, currency)} to {money(b, currency)}"
        for customer, currency, a, b, email in biggest
    ]
    text = [title, ""]
    for currency in now:
        text.append(currency)
        text += [f"  {label}: {value}" for c, label, value in lines if c == currency]
        text.append("")
    text += ["Biggest movements:", *[f"  {e}" for e in events or ["none"]]]
    if dashboard_url:
        text += ["", f"Dashboard: {dashboard_url}"]
    esc = html.escape
    body = [f"<h2>{esc(title)}</h2>"]
    for currency in now:
        body.append(f"<h3>{esc(currency)}</h3><table>")
        body += [
            f"<tr><td>{esc(label)}</td><td>{esc(value)}</td></tr>"
            for c, label, value in lines
            if c == currency
        ]
        body.append("</table>")
    body.append(
        "<h3>Biggest movements</h3><ul>" + "".join(f"<li>{esc(e)}</li>" for e in events or ["none"]) + "</ul>"
    )
    if dashboard_url:
        body.append(f'<p><a href="{esc(dashboard_url, quote=True)}">Open the dashboard</a></p>')
    return Event(f"digest:{cadence}:{start}", f"digest_{cadence}", title, "\n".join(text), "\n".join(body))
