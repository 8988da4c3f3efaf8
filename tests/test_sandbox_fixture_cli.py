"""Fixture mode (a given data set instead of the simulation), the CLI, and a real uvicorn server."""

import json
import shutil
import socket
from pathlib import Path

import httpx
import pytest

import dodo_cli
from helpers import RO_KEY, client_for, read_all
from sandbox.api import SandboxAPI
from sandbox.clock import parse_iso
from sandbox.data import FixtureData, FixtureError
from sandbox.server import serve_in_thread

FIXTURE = Path(__file__).parent / "data" / "fixture_small"


def holds(actual, expected) -> bool:
    """Every value of `expected` is in `actual`; nested objects may carry more (null) fields."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and holds(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(holds, actual, expected))
    return actual == expected


@pytest.fixture
def fixture_client():
    api = SandboxAPI(FixtureData(FIXTURE, parse_iso("2026-06-30T00:00:00Z")))
    with client_for(api) as c:
        yield c


def test_fixture_round_trips_detail_and_derives_list_shapes(fixture_client):
    c = fixture_client
    source = {p["payment_id"]: p for p in json.loads((FIXTURE / "payments.json").read_text())}
    items = read_all(c, "/payments")
    assert [p["payment_id"] for p in items] == ["pay_k1", "pay_a2", "pay_a1"]  # newest first
    for item in items:
        assert "error_code" not in item and "tax" not in item  # list shape
        detail = c.get(f"/payments/{item['payment_id']}").json()
        assert holds(detail, source[item["payment_id"]])
        assert detail["card_holder_name"] is None  # absent optional fields come back as null
    k1 = next(p for p in items if p["payment_id"] == "pay_k1")
    assert k1["dispute_status"] == "dispute_lost" and k1["has_license_key"] is False
    assert [p["payment_id"] for p in read_all(c, "/payments", status="failed")] == ["pay_a2"]
    assert [p["payment_id"] for p in read_all(c, "/payments", customer_id="cus_kenji")] == ["pay_k1"]
    assert c.get("/payments").headers["date"] == "Tue, 30 Jun 2026 00:00:00 GMT"


def test_fixture_product_and_subscription_shapes(fixture_client):
    c = fixture_client
    product = read_all(c, "/products")[0]
    assert product["price"] == 2900 and product["price_detail"]["type"] == "recurring_price"
    assert c.get("/products/pdt_pro").json()["price"]["price"] == 2900
    sub = read_all(c, "/subscriptions", customer_id="cus_alice")[0]
    assert sub["recurring_pre_tax_amount"] == 2900 and sub["cancelled_at"] is None
    assert read_all(c, "/refunds")[0]["amount"] == 1000
    assert read_all(c, "/disputes")[0]["amount"] == "3400"
    assert read_all(c, "/payouts") == []  # a missing file is an empty resource
    assert c.get("/_sandbox/totals").json()["resources"]["payments"]["count"] == 3


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "payments.json: not valid JSON"),
        ('{"items": []}', "payments.json: expected a JSON array"),
        ("[1]", "payments.json: item 0: expected an object"),
        (
            '[{"created_at": "2026-01-01T00:00:00Z"}]',
            "payments.json: item 0: missing or non-string 'payment_id'",
        ),
        ('[{"payment_id": "p", "created_at": "soon"}]', "payments.json: item 0: bad created_at"),
        (
            '[{"payment_id": "p", "created_at": "2026-01-01T00:00:00Z"},'
            ' {"payment_id": "p", "created_at": "2026-01-01T00:00:00Z"}]',
            "item 1: duplicate payment_id 'p'",
        ),
    ],
)
def test_malformed_fixture_files_are_refused_naming_file_and_problem(tmp_path, content, message):
    shutil.copytree(FIXTURE, tmp_path / "d")
    (tmp_path / "d" / "payments.json").write_text(content)
    with pytest.raises(FixtureError, match=message.replace("(", r"\(")):
        FixtureData(tmp_path / "d", 0)


def test_cli_refuses_bad_input_with_one_clear_line(tmp_path, capsys, reliability):
    cases = [
        (["--host", "0.0.0.0"], "refusing to bind 0.0.0.0"),
        (["--size", "huge"], "--size must be one of"),
        (["--data", str(tmp_path / "missing")], "not a folder"),
        (["--now", "tomorrow"], "--now:"),
        (["--burst-429", "lots"], "--burst-429 takes N/EVERY"),
    ]
    for args, message in cases:
        assert dodo_cli.main(["sandbox", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    reliability(
        "Sandbox refuses a public address",
        "dodo-analytics sandbox --host 0.0.0.0 without the flag",
        1,
        "refused with one line, exit 2",
    )


def test_cli_help_shows_an_example(capsys):
    with pytest.raises(SystemExit):
        dodo_cli.main(["sandbox", "--help"])
    assert "example:" in capsys.readouterr().out


def test_key_specs():
    from sandbox.cli import parse_keys

    assert parse_keys(["abc", "def:rw", "ghi:ro"]) == {"abc": "ro", "def": "rw", "ghi": "ro"}


def test_real_uvicorn_serves_the_api_and_hangs_until_the_client_gives_up():
    api = SandboxAPI(FixtureData(FIXTURE, parse_iso("2026-06-30T00:00:00Z")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve_in_thread(api, port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {RO_KEY}"}
        ) as c:
            r = c.get("/payments", params={"page_size": 2})
            assert r.status_code == 200 and len(r.json()["items"]) == 2
            assert r.headers.get_list("date") == ["Tue, 30 Jun 2026 00:00:00 GMT"]
            api.faults.config.hang_rate = 1.0
            with pytest.raises(httpx.ReadTimeout):
                c.get("/payments", timeout=0.3)
    finally:
        server.should_exit = True
