"""Queries with named parameters (`$currency`, `$products`, ...), and charts that pair the query of
their rows with the query of the records behind a clicked point.

Values always travel as parameters, never inside the SQL text. DuckDB refuses a named parameter the
statement does not use, so `bind` hands each statement only the names it contains."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports.filters import Filters

# reader(sql, values) -> rows: the dashboard's cached reader, or a connection to the published file
Reader = Callable[[str, Mapping[str, Any]], pd.DataFrame]

_NAME = re.compile(r"\$([A-Za-z_]\w*)")
_LITERAL = re.compile(r"'(?:[^']|'')*'")  # a '$' inside a string literal is text, not a parameter


def names(sql: str) -> set[str]:
    """The `$names` a statement uses."""
    return set(_NAME.findall(_LITERAL.sub("", sql)))


def bind(sql: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of `sql` out of `values` (which may hold more); a name it uses but `values` lacks
    is a mistake in the caller, said here rather than as DuckDB's less specific error."""
    wanted = names(sql)
    if lacking := wanted - values.keys():
        raise KeyError(f"the query uses {', '.join(sorted('$' + n for n in lacking))}, which were not given")
    return {name: values[name] for name in sorted(wanted)}


@dataclass(frozen=True)
class Chart:
    """A chart's rows (`sql`) and the records behind the points a user picks (`records`, which gets the
    picked x values, dates or labels, as `$picked`). Both take the filters' parameters and `given`,
    the values fixed by the chart itself (such as the payment status it counts)."""

    sql: str
    records: str
    given: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def values(self, filters: Filters, **more: Any) -> dict[str, Any]:
        return {**filters.params(), **self.given, **more}
