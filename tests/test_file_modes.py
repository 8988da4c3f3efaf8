"""Files holding customers' names and e-mails are this user's only, and stay so across publishes; a
warehouse path that is a symlink is published through, never replaced."""

import stat

import duckdb

import dodo_cli
from core.published import lock_path, status_path, work_path
from harness import Harness
from helpers import make_api


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sync_creates_every_file_for_this_user_only(tmp_path, reliability):
    h = Harness(make_api(120), tmp_path)
    assert h.sync() == 0, h.stderr.getvalue()
    for path in (h.path, work_path(h.path), status_path(h.path), lock_path(h.path)):
        assert mode(path) == 0o600, (path, oct(mode(path)))
    reliability(
        "File modes", "a first sync's published file, working copy, status file and lock", 1, "all 0600"
    )


def test_a_chmod_of_the_published_file_outlives_the_next_publish(tmp_path):
    h = Harness(make_api(120), tmp_path)
    assert h.sync() == 0
    h.path.chmod(0o640)  # shared with a group on purpose
    assert h.sync() == 0
    assert mode(h.path) == 0o640


def test_an_export_is_written_for_this_user_only(tmp_path, monkeypatch):
    h = Harness(make_api(120), tmp_path)
    assert h.sync() == 0
    out = tmp_path / "payments.csv"
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(h.path))
    assert dodo_cli.main(["export", "--what", "payments", "--out", str(out)]) == 0
    assert mode(out) == 0o600 and out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_symlinked_warehouse_is_published_through_the_link(tmp_path):
    h = Harness(make_api(120), tmp_path)
    target = tmp_path / "data" / "real.duckdb"
    target.parent.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(target)
    h.path = link
    assert h.sync() == 0, h.stderr.getvalue()
    assert h.sync() == 0, h.stderr.getvalue()
    assert link.is_symlink() and link.resolve() == target
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sync_runs WHERE status = 'ok'").fetchone()[0] == 2
