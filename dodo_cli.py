"""`dodo-analytics`: one command for the sandbox, the sync, the dashboard and the exports."""

import argparse
import sys

from sandbox import cli as sandbox_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dodo-analytics", description=__doc__.split(":", 1)[1].strip())
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return sandbox_cli.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
