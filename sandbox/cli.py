"""`dodo-analytics sandbox`: serve the stand-in Dodo API on loopback."""

import argparse
import ipaddress
import sys
from datetime import UTC, datetime

from .api import DEMO_KEYS, SandboxAPI
from .clock import iso, parse_iso, to_ms
from .data import FixtureData, FixtureError, SimulatedData
from .faults import FaultConfig, Faults
from .ratelimit import PROFILES, RateLimiter
from .server import ASGIApp

SIZES = {"tiny": 300, "small": 5_000, "demo": 30_000, "medium": 100_000, "large": 1_000_000}

EXAMPLE = """example:
  dodo-analytics sandbox --size demo --port 8765
  DODO_PAYMENTS_BASE_URL=http://127.0.0.1:8765 DODO_PAYMENTS_API_KEY=sk_test_sandbox_readonly \\
    DODO_PAYMENTS_ENVIRONMENT=test_mode dodo-analytics sync
  curl -X POST 'http://127.0.0.1:8765/_sandbox/advance?days=7'     # move the clock a week on
"""


class UsageError(Exception):
    """Bad command-line input; the CLI prints the message and exits with code 2."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sandbox",
        help="serve a local stand-in of the Dodo Payments API",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--allow-remote", action="store_true", help="allow binding an address other than loopback")
    p.add_argument("--seed", type=int, default=1, help="simulation seed (same seed, same data)")
    p.add_argument("--size", default="demo", help=f"payments to simulate: {', '.join(SIZES)} or a number")
    p.add_argument("--data", help="serve the JSON files in this folder instead of the simulation")
    p.add_argument("--now", help="the sandbox clock, e.g. 2026-06-30T00:00:00Z (default: this hour)")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY[:ro|:rw]",
        help="an accepted API key, read-only unless :rw (repeatable; default: the demo keys)",
    )
    p.add_argument(
        "--ro-deny",
        action="append",
        default=[],
        metavar="PATH",
        help="a list path read-only keys get 403 on, e.g. balances/ledger (repeatable)",
    )
    p.add_argument(
        "--rate-profile",
        choices=sorted(PROFILES),
        default="tier1",
        help="tier1 = 100/s and 1000/min (default); default = 40/s and 240/min",
    )
    p.add_argument("--per-second", type=int, help="override the per-second limit")
    p.add_argument("--per-minute", type=int, help="override the per-minute limit")
    faults = p.add_argument_group("faults")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="added latency (fixed)")
    faults.add_argument("--latency-max-ms", type=float, default=0.0, help="random latency up to this")
    faults.add_argument("--error-rate", type=float, default=0.0, help="share of 500/502/503 answers")
    faults.add_argument("--hang-rate", type=float, default=0.0, help="share of requests never answered")
    faults.add_argument("--truncate-rate", type=float, default=0.0, help="share of bodies cut in half")
    faults.add_argument("--rate-429", type=float, default=0.0, help="share of forced 429s")
    faults.add_argument(
        "--burst-429", default="", metavar="N/EVERY", help="N 429s in a row every EVERY requests"
    )
    faults.add_argument(
        "--date-back-rate",
        type=float,
        default=0.0,
        help="share of answers whose Date header is --date-back-s seconds in the past",
    )
    faults.add_argument("--date-back-s", type=float, default=3600.0)
    faults.add_argument("--fault-seed", type=int, default=0)


def parse_keys(specs: list[str]) -> dict[str, str]:
    keys = {}
    for spec in specs:
        key, _, mode = spec.rpartition(":") if spec.endswith((":ro", ":rw")) else (spec, "", "ro")
        if not key:
            raise UsageError("--key needs a key, optionally followed by :ro or :rw")
        keys[key] = mode
    return keys


def parse_size(text: str) -> int:
    if text in SIZES:
        return SIZES[text]
    try:
        size = int(text.replace("_", ""))
    except ValueError:
        raise UsageError(
            f"--size must be one of {', '.join(SIZES)} or a payment count, got {text!r}"
        ) from None
    if not 1 <= size <= 5_000_000:
        raise UsageError(f"--size must be between 1 and 5000000 payments, got {size}")
    return size


def build_api(args, clock=None) -> SandboxAPI:
    """The API the arguments describe (also used by `demo` and the benchmarks)."""
    try:
        now = (
            parse_iso(args.now)
            if args.now
            else to_ms(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
        )
    except ValueError as exc:
        raise UsageError(f"--now: {exc}") from None
    data = FixtureData(args.data, now) if args.data else SimulatedData(args.seed, parse_size(args.size), now)
    per_second, per_minute = PROFILES[args.rate_profile]
    limiter = RateLimiter(args.per_second or per_second, args.per_minute or per_minute)
    config = FaultConfig()
    knobs = ("latency_ms", "latency_max_ms", "error_rate", "hang_rate", "truncate_rate", "rate_429")
    try:  # the checks of /_sandbox/faults: an "inf" latency would hang every call
        config.update({name: getattr(args, name) for name in (*knobs, "date_back_rate", "date_back_s")})
        config.update({"seed": args.fault_seed})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.burst_429:
        try:
            config.burst_429, config.burst_every = (int(x) for x in args.burst_429.split("/"))
        except ValueError:
            raise UsageError(f"--burst-429 takes N/EVERY such as 5/200, got {args.burst_429!r}") from None
    return SandboxAPI(data, parse_keys(args.key) or None, limiter, Faults(config), ro_denied=args.ro_deny)


def check_host(host: str, allow_remote: bool) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise UsageError(
            f"refusing to bind {host}: the sandbox serves on loopback only; "
            "pass --allow-remote to bind another address"
        )


def run(args) -> int:
    import uvicorn

    try:
        check_host(args.host, args.allow_remote)
        api = build_api(args)
    except (UsageError, FixtureError) as exc:
        print(f"dodo-analytics sandbox: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{len(c)} {name}" for name, c in api.data.collections.items())
    print(f"Dodo sandbox: {counts}; clock at {iso(api.data.now)}", flush=True)
    if not args.key:
        print(
            "Accepted demo keys: "
            + ", ".join(f"{k} ({'read-only' if m == 'ro' else 'read-write'})" for k, m in DEMO_KEYS.items()),
            flush=True,
        )
    print(f"Serving http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
    uvicorn.run(
        ASGIApp(api),
        host=args.host,
        port=args.port,
        log_level="warning",
        lifespan="on",
        date_header=False,
        server_header=False,
    )  # the Date header is the sandbox clock's
    return 0
