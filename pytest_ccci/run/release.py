"""`pytest-ccci release DOMAIN [--lock-dir DIR]` (also `python -m pytest_ccci release`): tear down
an app kept by `--ccci-keep-failed` and free its domain (run/keep.py release_domain).

One line on success; a domain with no kept app, a domain in use, no swarm, or an engine error is
one line on stderr, exit 2 (what could not be removed: exit 1, named).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_ccci.errors import CcciError
from pytest_ccci.run.keep import release_domain
from pytest_ccci.run.locks import DEFAULT_LOCK_DIR

PROG = "pytest-ccci release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("domain", metavar="DOMAIN", help="the kept app's domain, as the run printed it")
    parser.add_argument(
        "--lock-dir",
        type=Path,
        default=DEFAULT_LOCK_DIR,
        metavar="DIR",
        help=f"the runs' lock dir (ini ccci_lock_dir; default {DEFAULT_LOCK_DIR})",
    )


def run(args: argparse.Namespace) -> int:
    from pytest_ccci.swarm.facade import connect  # docker-py only for this command

    try:
        left = release_domain(connect, args.lock_dir, args.domain)
    except CcciError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if left:
        print(f"{PROG}: {args.domain}: could not remove {', '.join(left)}; the domain stays kept", file=sys.stderr)
        return 1
    print(f"{PROG}: {args.domain} torn down and released")
    return 0
