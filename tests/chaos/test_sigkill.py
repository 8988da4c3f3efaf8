"""Chaos: a real sync process killed with SIGKILL at random moments, against a real sandbox process
with faults on, then one clean run: the warehouse must equal one made by a single uninterrupted
sync (same rows, same metric tables). Short form in `make test` (3 kills); the long form
(CHAOS_KILLS=20, or more) is for `make chaos`."""

import os
import random
import signal
import time

from processes import sandbox, sync_process  # noqa: F401 (the fixture, asked for by name below)

from etl.resources import TABLES as RAW_TABLES
from harness import snapshot

KILLS = int(os.environ.get("CHAOS_KILLS", "3"))
TABLES = [*RAW_TABLES, "mrr_monthly", "revenue_daily", "subscription_mrr_segments"]


def test_sigkill_at_random_moments_then_one_clean_run_equals_an_uninterrupted_sync(
    sandbox,  # noqa: F811
    tmp_path,
    reliability,
):
    reference = tmp_path / "reference.duckdb"
    started = time.monotonic()
    proc = sync_process(sandbox, reference)
    assert proc.wait(300) == 0, proc.stderr.read().decode()[-2000:]
    full = time.monotonic() - started

    rng = random.Random(int(os.environ.get("CHAOS_SEED", "7")))
    warehouse = tmp_path / "killed.duckdb"
    killed = 0
    for _ in range(KILLS):
        proc = sync_process(sandbox, warehouse)
        time.sleep(rng.uniform(0.2, full * 0.6))  # later runs resume, so they are shorter than the first
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(30)
    proc = sync_process(sandbox, warehouse)
    assert proc.wait(300) == 0, proc.stderr.read().decode()[-2000:]
    assert killed >= max(1, KILLS // 3)  # kills must land mid-sync, or the test proves little
    assert snapshot(warehouse, TABLES) == snapshot(reference, TABLES)
    print(
        f"\n{killed} of {KILLS} sync processes SIGKILLed mid-run; after one clean run the warehouse equals "
        f"an uninterrupted sync's ({len(TABLES)} tables compared)"
    )
    reliability(
        "SIGKILL mid-sync",
        "sync processes killed at random moments against a sandbox with 5% 5xx and 2% "
        "truncated bodies, then one clean run",
        KILLS,
        f"{killed} killed mid-run; the warehouse then equalled an uninterrupted sync's ({len(TABLES)} tables, "
        "metric tables included): 0 lost, 0 duplicated",
    )
