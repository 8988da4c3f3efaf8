"""`dodo-analytics`: one command for the sandbox, the sync, the dashboard and the exports."""

import argparse
import sys

from alerts import cli as alerts_cli
from dashboard import cli as dashboard_cli
from etl import cli as etl_cli
from sandbox import cli as sandbox_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dodo-analytics", description=__doc__.split(":", 1)[1].strip())
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox_cli.add_parser(sub)
    etl_cli.add_parser(sub)
    dashboard_cli.add_parsers(sub)
    alerts_cli.add_parser(sub)
    doctor_parser = sub.add_parser(
        "doctor", help="check settings, API access per resource, the warehouse and the lock"
    )
    doctor_parser.add_argument("--warehouse")
    demo_parser = sub.add_parser(
        "demo", help="run the demo: a simulated business, synced into var/demo.duckdb"
    )
    demo_parser.add_argument("--warehouse", default="var/demo.duckdb")
    demo_parser.add_argument("--port", type=int, default=8765)
    demo_parser.add_argument("--size", default="demo", help="payments to simulate (see sandbox --help)")
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return sandbox_cli.run(args)
    if args.command == "sync":
        from alerts import check

        if (problem := check.refused(args.warehouse)) is not None:  # a bad alerts file: before the sync
            print(f"dodo-analytics sync: {problem}", file=sys.stderr)
            return 2
        return etl_cli.run(args, after=check.after_sync)
    if args.command == "alerts":
        return alerts_cli.run(args)
    if args.command == "doctor":
        from etl import doctor

        return doctor.run(args)
    if args.command == "dashboard":
        return dashboard_cli.serve(args)
    if args.command == "export":
        return dashboard_cli.export(args)
    if args.command == "demo":
        import demo

        return demo.run(args.warehouse, args.port, args.size)
    return 2


if __name__ == "__main__":
    sys.exit(main())
