"""Run the reliability and security checks and write their table into README.md (between the
`reliability:start` and `reliability:end` markers). Each test records what it tried, how many times
and what happened, once its assertions have passed (the `reliability` fixture, tests/conftest.py);
a test that fails records nothing and shows in the table as failed.

.venv/bin/python bench/reliability.py            # the long form (the settings of `make chaos`)
.venv/bin/python bench/reliability.py --short    # the short form the test command runs; README untouched
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG = {
    "CHAOS_KILLS": "20",
    "CHAOS_PUBLISHES": "12",
    "CHAOS_STORM_SEEDS": "5",
    "CHAOS_DISK_LIMITS": "4",
    "BAD_INPUT_EXAMPLES": "100",
}
TESTS = [
    "tests/chaos",
    "tests/test_bad_input.py",
    "tests/test_etl_sync.py::test_the_api_key_never_reaches_output_logs_or_the_warehouse",
    "tests/test_etl_sync.py::test_only_get_requests_are_ever_sent",
    "tests/test_dashboard.py::test_filter_values_travel_as_parameters",
    "tests/test_dashboard.py::test_formula_injection_is_neutralised_under_pandas_string_dtypes",
    "tests/test_dashboard.py::test_the_dashboard_binds_loopback_unless_told",
    "tests/test_dashboard.py::test_no_page_shows_data_before_the_password",
    "tests/test_dashboard_browser.py::test_pages_render_in_chromium",
    "tests/test_sandbox_fixture_cli.py::test_cli_refuses_bad_input_with_one_clear_line",
    "tests/test_redaction.py",
    "tests/test_file_modes.py",
    "tests/test_damaged_warehouse.py",
    "tests/test_csv.py",
    "tests/test_hostile_api.py",
    "tests/test_client.py::test_an_answer_larger_than_any_page_ends_the_run_without_being_read_whole",
    "tests/test_client.py::test_an_answer_dripping_a_byte_at_a_time_times_out_as_a_whole",
    "tests/test_dashboard.py::test_an_unreadable_password_file_shows_nothing",
    "tests/test_dashboard.py::test_serving_beyond_this_machine_needs_a_password",
    "tests/test_dashboard_browser.py::test_an_api_error_is_shown_as_text_not_as_markdown",
    "tests/test_dashboard_browser.py::test_a_page_under_another_host_name_gets_no_data",
    "tests/test_dashboard_browser.py::test_downloads_and_metrics_need_the_password",
    "tests/test_alerts.py",
    "tests/test_dashboard.py::test_record_tables_show_major_units_readable_headers_and_blanks",
    "tests/test_pager.py::test_instants_are_rfc3339_with_four_digit_years",
    "tests/test_client.py::test_an_unverifiable_certificate_is_said_at_once_not_retried_as_an_outage",
    "tests/test_sandbox_api.py::test_fault_knobs_refuse_values_that_would_hang_or_break_every_call",
    "tests/test_sandbox_api.py::test_control_endpoints_refuse_a_web_pages_request",
]
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"


def run(short: bool) -> tuple[list[dict], dict[str, tuple[str, float]], float]:
    """(rows the tests recorded, {node id: (outcome, seconds)}, wall seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        log, junit = Path(tmp) / "rows.jsonl", Path(tmp) / "junit.xml"
        env = dict(os.environ, RELIABILITY_LOG=str(log), **({} if short else LONG))
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *TESTS,
                "-o",
                "addopts=",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={junit}",
            ],
            cwd=ROOT,
            env=env,
            check=False,
        )
        seconds = time.monotonic() - started
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        outcomes = {}
        for case in ET.parse(junit).iter("testcase"):
            path = case.get("classname").replace(".", "/") + ".py"
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            outcomes[f"{path}::{case.get('name')}"] = (
                "failed" if failed else "skipped" if skipped else "passed",
                float(case.get("time")),
            )
    return rows, outcomes, seconds


def table(rows: list[dict], outcomes: dict) -> str:
    checks: dict[str, dict] = {}
    for row in rows:  # parametrised tests record one row each: one line per check, the times added up
        entry = checks.setdefault(row["check"], dict(row, times=0))
        entry["times"] += row["times"]
    lines = ["| Check | What was tried | Times | What happened |", "|---|---|---:|---|"]
    lines += [f"| {c['check']} | {c['tried']} | {c['times']:,} | {c['outcome']} |" for c in checks.values()]
    lines += [
        f"| **{node}** | | | **{outcome}** |"
        for node, (outcome, _) in outcomes.items()
        if outcome != "passed"
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--short", action="store_true", help="the test command's short form; README untouched"
    )
    args = parser.parse_args()
    rows, outcomes, seconds = run(args.short)
    chaos = sum(t for node, (_, t) in outcomes.items() if node.startswith("tests/chaos/"))
    failed = [node for node, (outcome, _) in outcomes.items() if outcome == "failed"]
    form = (
        "short form (the test command's settings)"
        if args.short
        else "long form (" + " ".join(f"{k}={v}" for k, v in LONG.items()) + ")"
    )
    summary = (
        f"Written by `.venv/bin/python bench/reliability.py` on {datetime.now(UTC):%Y-%m-%d}, {form}: "
        f"{len(outcomes)} tests in {seconds / 60:.1f} min, of which the chaos suite (tests/chaos) "
        f"{chaos / 60:.1f} min; {len(failed)} failed."
    )
    text = f"{summary}\n\n{table(rows, outcomes)}"
    print(text)
    if not args.short:
        readme = ROOT / "README.md"
        content = readme.read_text()
        if START not in content or END not in content:
            print(
                f"README.md lacks the {START} and {END} markers; the table was not written", file=sys.stderr
            )
            return 1
        head, rest = content.split(START, 1)
        readme.write_text(f"{head}{START}\n{text}\n{END}{rest.split(END, 1)[1]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
