"""Fault storms: each sync under a storm ends either complete through its data_through or with a clear
error, and then the previous published warehouse is intact byte for byte; a calm run afterwards
completes. In-process (the sandbox through its httpx transport, clocks fake), so a storm of hung
requests costs no real waiting. CHAOS_STORM_SEEDS sets how many seeds each storm gets (1 in the
test command, more in `make chaos`)."""

import hashlib
import os
from datetime import UTC, timedelta

import pytest

from etl.resources import RESOURCES
from harness import Harness, assert_complete
from helpers import make_api

SEEDS = int(os.environ.get("CHAOS_STORM_SEEDS", "1"))
STORMS = {
    "429 bursts": {"burst_429": 40, "burst_every": 150, "rate_429": 0.05},
    "500/502/503 at 20%": {"error_rate": 0.2},
    "hung requests (5%)": {"hang_rate": 0.05},
    "truncated JSON (10%)": {"truncate_rate": 0.1},
    "Date header 3 days back": {"date_back_rate": 1.0, "date_back_s": 3 * 86400},
    "all of these at once": {
        "burst_429": 20,
        "burst_every": 200,
        "error_rate": 0.2,
        "hang_rate": 0.03,
        "truncate_rate": 0.05,
        "date_back_rate": 0.3,
        "date_back_s": 3 * 86400,
    },
    "outage (every answer a 5xx)": {"error_rate": 1.0},
}


def lost(h: Harness) -> int:
    """Records created at or before the run's data_through that the warehouse lacks (each table's primary
    key already rules out duplicates)."""
    through = h.query("SELECT data_through FROM sync_runs ORDER BY run_id DESC LIMIT 1")[0][0]
    through_ms = int(through.astimezone(UTC).timestamp() * 1000)
    missing = 0
    for name, r in RESOURCES.items():
        expected = {x.id for x in h.api.data.collections[name].records if x.created <= through_ms}
        missing += len(expected - {i for (i,) in h.query(f"SELECT {r.key} FROM {r.table}")})
    return missing


@pytest.mark.parametrize("storm", list(STORMS))
def test_a_storm_ends_complete_or_with_a_clear_error_and_the_last_publish_intact(
    storm, tmp_path, reliability
):
    outcomes = {"complete": 0, "clear error": 0}
    for seed in range(SEEDS):
        api = make_api(150, seed=20 + seed)
        h = Harness(api, tmp_path / f"seed{seed}", budget=20)
        assert h.sync() == 0, h.stderr.getvalue()
        published = hashlib.sha256(h.path.read_bytes()).digest()
        api.data.advance(int(timedelta(days=2).total_seconds() * 1000))  # new records, changed statuses
        api.faults.config.update(dict(STORMS[storm], seed=seed))
        code = h.sync()
        err = h.stderr.getvalue()
        assert "Traceback" not in err + h.stdout.getvalue()
        if code == 0:
            assert lost(h) == 0
            if storm.startswith("Date"):  # the clock went back past the last data_through: it stays there
                assert "data through stays there" in h.stdout.getvalue()
            outcomes["complete"] += 1
        else:
            assert code == 1 and "Nothing was published" in err, err
            assert "failed after 7 attempts" in err  # says what happened and what to do
            assert hashlib.sha256(h.path.read_bytes()).digest() == published
            outcomes["clear error"] += 1
        api.faults.config.update({k: 0 for k in STORMS[storm]})
        assert h.sync() == 0, h.stderr.getvalue()  # the calm run after the storm catches up exactly
        assert_complete(h)
        assert lost(h) == 0
    if storm.startswith("outage"):
        assert outcomes["clear error"] == SEEDS
    elif not storm.startswith("all"):  # one kind of fault at these rates: the retries must ride it out
        assert outcomes["complete"] > 0
    reliability(
        "Fault storm: " + storm,
        "a sync under the storm after the clock moved 2 days, then a calm sync",
        SEEDS,
        f"{outcomes['complete']} complete through data_through, {outcomes['clear error']} clear errors "
        "with the last publish intact; 0 lost; the calm run caught up every time",
    )
    print(f"\n{storm}: {outcomes}")
