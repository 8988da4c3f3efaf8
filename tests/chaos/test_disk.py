"""A full disk and an unwritable warehouse folder, with real sync processes against a real sandbox:
each run ends with a clear error (no traceback, what to do), the previous published warehouse intact
byte for byte, and the lock released; once there is room again, the next sync completes exactly.
CHAOS_DISK_LIMITS (2 in the test command, 4 in `make chaos`) sets at how many points the disk fills;
with 4, the unwritable folder is also tried with its files read-only (the lock cannot even be taken).

A full disk is a file-size limit on the sync process (RLIMIT_FSIZE, with SIGXFSZ ignored): past it,
writes fail with EFBIG where a full disk fails with ENOSPC, and DuckDB and Python take the same path."""

import ctypes
import fcntl
import hashlib
import os
import resource
import signal

import httpx
import pytest
from processes import start_sandbox, sync_process

from core.published import connect, lock_path
from etl.resources import RESOURCES

LIMITS = int(os.environ.get("CHAOS_DISK_LIMITS", "2"))  # 4 in `make chaos`


@pytest.fixture(scope="module")
def sandbox():
    """A small calm business: here the disk is what fails."""
    proc, url = start_sandbox("--size", "800", "--seed", "4")
    yield url
    proc.terminate()
    proc.wait(10)


def digest(path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def lock_is_free(warehouse) -> bool:
    with open(lock_path(warehouse), "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def complete(url, warehouse) -> bool:
    totals = httpx.get(f"{url}/_sandbox/totals", timeout=30).json()["resources"]
    with connect(warehouse) as con:
        return all(
            con.execute(f"SELECT count(*) FROM {r.table}").fetchall()[0][0] == totals[name]["count"]
            for name, r in RESOURCES.items()
        )


def disk_of(limit: int):
    def limit_file_sizes():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_sizes


def run(url, warehouse, **popen) -> tuple[int, str]:
    proc = sync_process(url, warehouse, **popen)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err.decode()


def test_a_full_disk_fails_clearly_keeps_the_last_publish_and_releases_the_lock(
    sandbox, tmp_path, reliability
):
    warehouse = tmp_path / "w.duckdb"
    assert run(sandbox, warehouse)[0] == 0
    size = warehouse.stat().st_size
    # where the disk fills: at once, during the load, around the checkpoint, around the publish copy
    limits = [16 * 1024, size // 2, 512 * 1024, size + 64 * 1024][:LIMITS]
    failed = 0
    for limit in limits:
        httpx.post(f"{sandbox}/_sandbox/advance", params={"days": 1}, timeout=60)
        before = digest(warehouse)
        code, err = run(sandbox, warehouse, preexec_fn=disk_of(limit))
        assert "Traceback" not in err, err
        if code != 0:
            failed += 1
            assert code == 1 and "free some disk space" in err.lower(), err
            assert digest(warehouse) == before
        assert lock_is_free(warehouse)
        code, err = run(sandbox, warehouse)  # room again: the next run completes
        assert code == 0, err
        assert complete(sandbox, warehouse)
    assert failed >= min(LIMITS, 3)  # the small limits must fail, or this test proves nothing
    reliability(
        "Disk full",
        f"syncs with the disk full at {len(limits)} points (file-size limits from 16 KB to "
        "the warehouse's size), each followed by a run with room",
        len(limits),
        f"{failed} ended with a clear error, the last publish intact and the lock released; "
        f"{len(limits) - failed} fitted; every next run completed exactly",
    )


def without_root_overrides():
    """Root writes anywhere: drop the capabilities that let it ignore file modes (from the bounding set,
    so the exec'd sync does not get them back)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize(
    "files_too",
    [False, True][: 1 if LIMITS < 4 else 2],
    ids=lambda files_too: "folder and files" if files_too else "folder only",
)
def test_an_unwritable_warehouse_folder_fails_clearly_and_keeps_the_last_publish(
    sandbox, tmp_path, reliability, files_too
):
    folder = tmp_path / "warehouse"
    folder.mkdir()
    warehouse = folder / "w.duckdb"
    assert run(sandbox, warehouse)[0] == 0
    httpx.post(f"{sandbox}/_sandbox/advance", params={"days": 1}, timeout=60)  # something to write
    before = digest(warehouse)
    for f in folder.iterdir():
        f.chmod(0o444 if files_too else 0o644)
    folder.chmod(0o555)
    popen = {"preexec_fn": without_root_overrides} if os.geteuid() == 0 else {}
    try:
        code, err = run(sandbox, warehouse, **popen)
    finally:
        folder.chmod(0o755)
        for f in folder.iterdir():
            f.chmod(0o644)
    assert code == 1 and "Traceback" not in err, err
    assert "writable" in err or "permissions" in err, err
    assert digest(warehouse) == before
    assert lock_is_free(warehouse)
    code, err = run(sandbox, warehouse)
    assert code == 0, err
    assert complete(sandbox, warehouse)
    what = "its folder and files" if files_too else "its folder (its files writable)"
    reliability(
        f"Unwritable warehouse: {what}",
        f"a sync that may not write {what}",
        1,
        "a clear error, the last publish intact, the lock free; the next run with rights completed",
    )


pytestmark = pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE (Linux)")
