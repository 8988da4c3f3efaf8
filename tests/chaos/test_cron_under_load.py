"""Cron under load: syncs published back to back (the sandbox's clock moving between them) while reader
threads, like Streamlit sessions, and a second process read the dashboard's data the way the dashboard
does (`core.published.read`). No read may fail, every publish must be seen, and no sync may be blocked
by the readers."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from processes import ROOT, sandbox, sync_process  # noqa: F401 (the fixture, asked for by name below)

from core.published import read

RUNS = int(os.environ.get("CHAOS_PUBLISHES", "2"))
READS = [
    "SELECT sum(gross_volume) FROM revenue_daily",
    "SELECT * FROM mrr_monthly",
    "SELECT count(*) FROM payments",
    "SELECT max(data_through) FROM sync_runs",
]
READER = """
import os, sys
from core.published import read
path, stop, errors, reads = sys.argv[1], sys.argv[2], 0, 0
while not os.path.exists(stop):
    try:
        read(path, "SELECT count(*) FROM payments JOIN payment_details USING (payment_id)"); reads += 1
    except Exception as exc:
        errors += 1; print("read error:", exc, file=sys.stderr)
print(reads, errors)
"""


def test_publishing_while_pages_read(sandbox, tmp_path, reliability):  # noqa: F811 (the fixture)
    warehouse = tmp_path / "w.duckdb"
    assert sync_process(sandbox, warehouse).wait(300) == 0  # something to read from the start
    errors, reads, seen, stop = [], [0], set(), threading.Event()

    def reader():
        while not stop.is_set():
            for sql in READS:
                try:
                    frame = read(warehouse, sql)
                    reads[0] += 1
                    if "data_through" in sql:
                        seen.add(str(frame.iloc[0, 0]))
                except Exception as exc:  # noqa: BLE001 (any failure is what the test counts)
                    errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    stop_file = tmp_path / "stop"
    other = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse), str(stop_file)],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(RUNS):
            httpx.post(f"{sandbox}/_sandbox/advance", params={"days": 1}, timeout=60)
            started = time.monotonic()
            proc = sync_process(sandbox, warehouse)
            assert proc.wait(300) == 0, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() - started < 120  # the readers never held the sync back for long
            time.sleep(0.5)  # let the readers see this publish
    finally:
        stop.set()
        for t in threads:
            t.join()
        stop_file.touch()
        out, err = other.communicate(timeout=60)
    other_reads, other_errors = (int(n) for n in out.split())
    assert errors == [] and reads[0] > 0 and other_errors == 0 and other_reads > 0, err[-2000:]
    assert len(seen) == RUNS + 1  # the first publish and every later one (a new data_through each day) seen
    print(
        f"\n{RUNS} publishes while 3 reader threads made {reads[0]} reads and a second process "
        f"{other_reads}: 0 read errors"
    )
    reliability(
        "Cron under load",
        "syncs published back to back (the clock a day on each time) while 3 reader "
        "threads and a second process read the dashboard's tables",
        RUNS,
        f"{reads[0] + other_reads:,} reads, 0 read errors, every publish seen, no sync held back",
    )
    Path(warehouse).unlink()
