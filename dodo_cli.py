"""`dodo-analytics`: one command for the sandbox, the sync, the dashboard and the exports."""

import argparse
import sys

from etl import cli as etl_cli
from sandbox import cli as sandbox_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dodo-analytics", description=__doc__.split(":", 1)[1].strip())
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox_cli.add_parser(sub)
    etl_cli.add_parser(sub)
    sub.add_parser("demo", help="run the demo: the sandbox with a simulated business on 127.0.0.1")
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return sandbox_cli.run(args)
    if args.command == "sync":
        return etl_cli.run(args)
    if args.command == "demo":
        # Until the sync and the dashboard land, the demo is the sandbox at its demo size.
        return sandbox_cli.run(parser.parse_args(["sandbox", "--size", "demo"]))
    return 2


if __name__ == "__main__":
    sys.exit(main())
