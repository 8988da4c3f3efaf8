"""Alerts and digests after each sync, through real channels: an SMTP server (aiosmtpd) and an HTTP
receiver on this machine, fed by syncs of a simulated business whose clock moves a day per run."""

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

import dodo_cli
from alerts import check
from etl.doctor import _alerts_waiting
from harness import Harness
from helpers import SANDBOX_NOW, make_api, publish_finance
from sandbox.clock import parse_iso

SECRET = "hooks/SECRET-WEBHOOK-TOKEN-4242"
DAY = 86_400_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """A real SMTP server on this machine (aiosmtpd), keeping every message it is sent."""

    def __init__(self, port: int):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mailbox.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]

    def stop(self) -> None:
        if self.controller.server is not None:  # stopping twice is fine
            self.controller.stop()


class Receiver:
    """A real HTTP server on this machine that takes Slack-style webhook posts."""

    def __init__(self):
        self.posts: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def alerts_file(tmp_path, smtp_port: int, rules: str) -> str:
    path = tmp_path / "alerts.toml"
    path.write_text(
        f"""[email]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
from = "alerts@shop.example"
to = ["finance@shop.example"]

[webhook]
url_env = "TEST_WEBHOOK_URL"

[digest]
every = ["daily"]

{rules}
"""
    )
    return str(path)


RULES = """[rules.success_rate]
below_percent = 99.9
min_payments = 1
channels = ["email"]

[rules.movement]
at_least = 1
channels = ["webhook"]

[rules.dispute_opened]
channels = ["email"]

[rules.decline_spike]
factor = 1
min_count = 1
channels = ["email"]

[rules.sync_failing]

[rules.stale]
hours = 30
"""


@pytest.fixture
def channels_up(monkeypatch):
    port = free_port()
    mailbox, receiver = Mailbox(port), Receiver()
    monkeypatch.setenv("TEST_WEBHOOK_URL", receiver.url)
    yield port, mailbox, receiver
    mailbox.stop()
    receiver.stop()


def harness_with_alerts(tmp_path, api, path: str) -> Harness:
    h = Harness(api, tmp_path)
    h.env["DODO_ANALYTICS_ALERTS_FILE"] = path
    h.now = parse_iso(SANDBOX_NOW)  # the sandbox's clock, in ms: staleness is measured against it

    def after(con, settings, error):
        return check.after_sync(con, settings, error, now=datetime.fromtimestamp(h.now / 1000, UTC))

    h.after = after
    return h


def outbox(h: Harness) -> list[tuple]:
    return h.query("SELECT key, channel, delivered_at IS NOT NULL, attempts FROM alert_outbox ORDER BY 1, 2")


def test_ten_cron_runs_alert_each_event_once_and_send_each_daily_digest_once(
    tmp_path, channels_up, reliability
):
    port, mailbox, receiver = channels_up
    api = make_api(payments=8000, seed=5)  # a seed whose business has disputes opened in those 9 days
    h = harness_with_alerts(tmp_path, api, alerts_file(tmp_path, port, RULES))
    assert h.sync() == 0
    assert "switched on" in h.stdout.getvalue()  # history so far is recorded, not sent
    assert mailbox.messages == [] and receiver.posts == []
    for _ in range(9):
        api.data.advance(DAY)
        h.now += DAY
        assert h.sync() == 0, h.stderr.getvalue()
    sent = [key for key, channel, delivered, _ in outbox(h) if channel != check.BASELINE and delivered]
    baseline = {key for key, channel, *_ in outbox(h) if channel == check.BASELINE}
    assert not baseline & set(sent)  # what was there when alerts were switched on is never sent
    kinds = {key.split(":")[0] for key in sent}
    assert {"success_rate", "movement", "dispute", "decline", "digest"} <= kinds, kinds
    # what arrived is exactly what the outbox says was delivered, each once
    email_subjects = mailbox.subjects()
    assert (
        len(email_subjects)
        == len(set(email_subjects))
        == sum(1 for *_, c, d, _ in outbox(h) if c == "email" and d)
    )
    assert len(receiver.posts) == sum(1 for *_, c, d, _ in outbox(h) if c == "webhook" and d)
    # a daily digest for each day ended since alerts were switched on (the first day: the day they were)
    digests = sorted(k for k in set(sent) if k.startswith("digest:daily:"))
    assert digests == [f"digest:daily:{(datetime(2026, 6, 30) + timedelta(days=d)).date()}" for d in range(9)]
    digest = next(m for m in mailbox.messages if m["Subject"].startswith("Dodo Analytics daily digest"))
    parts = {p.get_content_type() for p in digest.walk()}
    assert {"text/plain", "text/html"} <= parts
    reliability(
        "Alerts once per event",
        "10 cron-like syncs of a business a day apart, with 4 history rules, stale data and daily digests",
        10,
        f"{len(sent)} messages, each sent once: {len(email_subjects)} e-mails, {len(receiver.posts)} webhook posts",
    )


def test_a_failing_sync_alerts_once_per_streak_and_stale_data_alerts(tmp_path, channels_up):
    port, mailbox, receiver = channels_up
    api = make_api(payments=300, seed=3)
    h = harness_with_alerts(tmp_path, api, alerts_file(tmp_path, port, RULES))
    assert h.sync() == 0
    h.env["DODO_PAYMENTS_API_KEY"] = "sk_test_revoked"  # the API refuses the key: every run fails
    for _ in range(3):
        h.now += DAY
        assert h.sync() == 1
    failing = [s for s in mailbox.subjects() if "failing" in s]
    assert failing == ["The Dodo Analytics sync is failing"]  # once for the three failed runs
    stale = [s for s in mailbox.subjects() if "hours old" in s]
    assert len(stale) == 1  # the data stays 48 h old and older: one alert for that data_through
    assert any("failing" in p["text"] for p in receiver.posts)  # sent on both channels


def test_a_channel_that_refuses_keeps_the_alert_then_delivers_it_once(tmp_path, monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("TEST_WEBHOOK_URL", receiver.url)
    port = free_port()  # nothing listens here yet
    api = make_api(payments=300, seed=3)
    rules = '[rules.stale]\nhours = 1\nchannels = ["email"]\n'
    h = harness_with_alerts(tmp_path, api, alerts_file(tmp_path, port, rules))
    h.now += 3 * DAY
    api_key = h.env["DODO_PAYMENTS_API_KEY"]
    assert h.sync() == 0  # the data is 3 days old at "now": stale on the first check
    assert [(k.split(":")[0], c, d) for k, c, d, _ in outbox(h)] == [("stale", "email", False)]
    assert "1 waiting to be sent" in h.stdout.getvalue() and "ConnectionRefusedError" in h.stdout.getvalue()
    h.env["DODO_PAYMENTS_API_KEY"] = api_key
    assert h.sync() == 0  # still refused: still waiting, tried twice
    assert [a for *_, a in outbox(h)] == [2]
    mailbox = Mailbox(port)
    try:
        assert h.sync() == 0
        assert h.sync() == 0
        assert len(mailbox.messages) == 1 and "hours old" in mailbox.messages[0]["Subject"]
        assert [(c, d) for _, c, d, _ in outbox(h)] == [("email", True)]
    finally:
        mailbox.stop()
        receiver.stop()


def test_a_payout_that_does_not_tie_out_alerts_once(tmp_path, channels_up, monkeypatch):
    """The finance business (helpers.FINANCE_LEDGER): yE1's list amount is 0.34 more than its entries
    settle. Alerts switched on before the payout is known, then two checks with it: one e-mail. Doctor
    says nothing is waiting."""
    port, mailbox, _ = channels_up
    path = tmp_path / "w.duckdb"
    publish_finance(path)
    rules = '[rules.payout_tie_out]\nchannels = ["email"]\n'
    monkeypatch.setenv("DODO_ANALYTICS_ALERTS_FILE", alerts_file(tmp_path, port, rules))
    from core.settings import Settings

    settings = Settings.from_env(warehouse=path, api=False)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE payout_tieout SET difference = 0 WHERE payout_id = 'yE1'")  # not there yet
        assert "switched on" in " ".join(check.after_sync(con, settings, None))
        con.execute("UPDATE payout_tieout SET difference = 34 WHERE payout_id = 'yE1'")  # the payout arrives
        check.after_sync(con, settings, None)
        check.after_sync(con, settings, None)
    assert [m["Subject"] for m in mailbox.messages] == ["Payout yE1 does not tie out (0.34 EUR)"]
    mailbox.stop()  # the next alert cannot be delivered: doctor says it waits
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE payout_tieout SET difference = 1 WHERE payout_id = 'yU1'")
        check.after_sync(con, settings, None)
        assert "1 alerts are waiting to be sent (last error: e-mail: 127.0.0.1" in _alerts_waiting(con)


def test_a_bad_alerts_file_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    cases = {
        "[rules.success_rate]\nmin_payments = 5\n": "rules.success_rate.below_percent: is required",
        "[rules.churn_party]\n": "rules.churn_party: unknown rule",
        '[email]\nhost = "x"\nfrom = "a@b.c"\nto = ["f@b.c"]\npassword_env = "NOT_SET_ANYWHERE"\n': (
            "email.password_env: names the environment variable NOT_SET_ANYWHERE, which is not set"
        ),
        "[rules\n": "is not valid TOML",
    }
    monkeypatch.setenv("DODO_PAYMENTS_API_KEY", "sk_test_x")
    monkeypatch.setenv("DODO_PAYMENTS_ENVIRONMENT", "test_mode")
    monkeypatch.setenv("TEST_WEBHOOK_URL", "https://hooks.example/x")
    for body, said in cases.items():
        path = tmp_path / "alerts.toml"
        path.write_text(
            body if body.startswith("[email]") else '[webhook]\nurl_env = "TEST_WEBHOOK_URL"\n' + body
        )
        monkeypatch.setenv("DODO_ANALYTICS_ALERTS_FILE", str(path))
        for command in (["sync"], ["alerts", "--dry-run"]):
            assert dodo_cli.main([*command, "--warehouse", str(tmp_path / "w.duckdb")]) == 2
            err = capsys.readouterr().err
            assert said in err and str(path) in err and len(err.strip().splitlines()) == 1, err


def test_secrets_never_reach_output_files_or_the_warehouse(tmp_path, channels_up, monkeypatch, capsys):
    port, mailbox, receiver = channels_up
    api = make_api(payments=300, seed=3)
    h = harness_with_alerts(tmp_path, api, alerts_file(tmp_path, port, RULES))
    assert h.sync() == 0
    receiver.stop()  # the webhook now refuses: its error must not say the URL
    h.now += 3 * DAY
    api.data.advance(3 * DAY)
    assert h.sync() == 0
    monkeypatch.setenv("DODO_ANALYTICS_ALERTS_FILE", str(tmp_path / "alerts.toml"))
    assert dodo_cli.main(["alerts", "--dry-run", "--warehouse", str(h.path)]) == 0
    said = h.stdout.getvalue() + h.stderr.getvalue() + "".join(capsys.readouterr())
    assert "waiting to be sent" in h.stdout.getvalue()
    token = SECRET.split("/")[1].encode()
    assert token not in said.encode()
    for file in h.path.parent.iterdir():
        assert token not in file.read_bytes(), file.name


def test_mrr_down_since_the_last_check_alerts_once(tmp_path, channels_up, monkeypatch):
    """The hand-built business (helpers.build): 55.00 USD of MRR now. USD halved between two checks:
    one alert, for USD only; the next check compares with the halved MRR and finds no drop."""
    from core.settings import Settings
    from helpers import publish_business

    port, mailbox, _ = channels_up
    path = tmp_path / "w.duckdb"
    publish_business(path)
    monkeypatch.setenv(
        "DODO_ANALYTICS_ALERTS_FILE",
        alerts_file(tmp_path, port, '[rules.mrr_drop]\npercent = 10\nchannels = ["email"]\n'),
    )
    settings = Settings.from_env(warehouse=path, api=False)
    with duckdb.connect(str(path)) as con:
        check.after_sync(con, settings, None)
        assert mailbox.messages == []  # the first check remembers 55.00 USD
        con.execute("UPDATE subscription_mrr_now SET mrr = mrr / 2 WHERE currency = 'USD'")
        check.after_sync(con, settings, None, now=datetime(2026, 4, 2, tzinfo=UTC))
        check.after_sync(con, settings, None, now=datetime(2026, 4, 3, tzinfo=UTC))
    assert mailbox.subjects() == ["MRR down 50.0% in USD"]
    assert "27.50 USD, down 50.0% from 55.00 USD" in mailbox.messages[0].get_payload(decode=True).decode()
