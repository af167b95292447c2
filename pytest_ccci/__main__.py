"""`python -m pytest_ccci COMMAND` and the `pytest-ccci` console script.

Commands:
  report RESULTS.json... --out DIR [--history DIR]   merge results, write the dashboard
  release DOMAIN [--lock-dir DIR]                     tear down an app kept by --ccci-keep-failed

(The checks themselves run under pytest: `pytest --recipe NAME`.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_ccci.report import cli as report_cli
from pytest_ccci.run import release as release_cli


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pytest-ccci", description="pytest-ccci commands besides pytest itself")
    commands = top.add_subparsers(dest="command", required=True, metavar="{report,release}")
    report = commands.add_parser(
        "report", help="merge results.json files (shards) into one and write the dashboard, badges and summary.md"
    )
    report_cli.add_arguments(report)
    report.set_defaults(run=report_cli.run)
    release = commands.add_parser(
        "release", help="tear down an app kept by --ccci-keep-failed and free its domain (and its lock's marker)"
    )
    release_cli.add_arguments(release)
    release.set_defaults(run=release_cli.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
