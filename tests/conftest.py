"""The fixtures the tests share; the helpers they are made of are in helpers.py."""

import json
import os

import pytest

from helpers import client_for, make_api, publish_business


@pytest.fixture(scope="session")
def small_api():
    """A ~2,000-payment business shared by read-only tests (built once)."""
    return make_api(2000)


@pytest.fixture
def small_client(small_api):
    with client_for(small_api) as c:
        yield c


@pytest.fixture
def reliability(request):
    """`reliability(check, tried, times, outcome)` adds a row to the README's reliability table when
    bench/reliability.py runs the suite (it sets RELIABILITY_LOG); a test records only once its
    assertions have passed, and the script marks a failed test's check as failed."""

    def record(check: str, tried: str, times: int, outcome: str) -> None:
        path = os.environ.get("RELIABILITY_LOG")
        if path:
            row = {
                "test": request.node.nodeid,
                "check": check,
                "tried": tried,
                "times": times,
                "outcome": outcome,
            }
            with open(path, "a") as f:
                f.write(json.dumps(row) + "\n")

    return record


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The hand-built business of helpers.py, published, for the dashboard's tests."""
    path = tmp_path_factory.mktemp("dash") / "w.duckdb"
    publish_business(path)
    return path
