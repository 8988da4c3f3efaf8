"""A server that echoes the key back (in a 401 body, say) never gets it printed, stored or shown."""

import json

import duckdb
import httpx

from core.errors import REDACTED, redact
from core.published import status_path
from harness import Harness
from helpers import make_api

KEY = "sk_live_ECHOEDkeyVALUE9931"


def test_redact_removes_the_given_secret_and_anything_key_shaped():
    text = "401 UNAUTHORIZED: bad key secretvalue; got Bearer abc.def and sk_test_OtherKey_12 and pk_live_x-y"
    assert redact(text, "secretvalue") == (
        f"401 UNAUTHORIZED: bad key {REDACTED}; got Bearer {REDACTED} and {REDACTED} and {REDACTED}"
    )
    assert redact("nothing secret here, sk_ alone", "") == "nothing secret here, sk_ alone"


class EchoingHarness(Harness):
    """An API whose 401 body quotes the Authorization header it got, as some gateways do."""

    def transport(self):
        def echo(request: httpx.Request) -> httpx.Response:
            said = f"invalid credentials: {request.headers['authorization']} (key {KEY})"
            return httpx.Response(401, json={"code": "UNAUTHORIZED", "message": said})

        return httpx.MockTransport(echo)


def test_an_echoed_key_reaches_no_output_no_status_file_and_no_run_record(tmp_path, reliability):
    h = EchoingHarness(make_api(50), tmp_path, key=KEY)
    assert h.sync() == 1
    said = h.stdout.getvalue() + h.stderr.getvalue()
    assert "The API refused the key" in said and REDACTED in said
    status = status_path(h.path).read_text()
    assert json.loads(status)["problem"] and KEY not in status
    work = h.path.with_name(h.path.name + ".work")
    with duckdb.connect(str(work), read_only=True) as con:
        (error,) = con.execute("SELECT error FROM sync_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    assert error and REDACTED in error
    for text in (said, status, error):
        assert KEY not in text and KEY[8:] not in text
    reliability(
        "A key echoed by the server",
        "a 401 whose body quotes the Authorization header and the key",
        1,
        "redacted in the output, the status file and sync_runs.error",
    )
