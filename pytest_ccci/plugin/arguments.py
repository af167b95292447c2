"""Path-valued plugin options written as two words (`--ccci-json /tmp/out/results.json`).

pytest chooses its rootdir and ini file before any plugin's options are known, so it takes such
a value, once the file exists (a CI job's retry), for a test path: it then chooses the ini file
by that path, and every setting of the project's ini file (ccci_lock_dir, ccci_max_deploys,
markers, addopts) silently falls back to its default. The recipes dir does not move with it
(options.py resolves it from the ini file's folder or the invocation dir); the other settings
would. The plugin cannot change pytest's order, so it notices and stops with the fix:
`--ccci-json=PATH`, one word, which pytest never takes for a path.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

# Plugin options (unknown to pytest's first parse) whose value is a path.
PATH_OPTIONS = ("--ccci-json", "--recipes-dir", "--html", "--ccci-durations", "--ccci-history")


def check_path_options(config: pytest.Config) -> None:
    """UsageError when a path option's value made pytest lose the project's ini settings."""
    taken = _values_taken_for_paths(config)
    if not taken:
        return
    expected_ini, expected_settings = _ini_without(config)
    if expected_ini == config.inipath or not expected_settings:
        return  # the same ini file, or one that sets nothing: nothing was lost
    option, value = taken[0]
    raise pytest.UsageError(
        f"ccci: pytest took the value of `{option} {value}` for a test path and so did not read "
        f"{expected_ini}; write `{option}={value}` (one word) so its settings apply"
    )


def _values_taken_for_paths(config: pytest.Config) -> list[tuple[str, str]]:
    args = list(config.invocation_params.args)
    where = Path(config.invocation_params.dir)
    return [(option, value) for option, value in pairwise(args) if option in PATH_OPTIONS and (where / value).exists()]


def _ini_without(config: pytest.Config) -> tuple[Path | None, object]:
    """The ini file (and its settings) pytest would have chosen had it known our options: its own
    rule, applied to the arguments it now knows are paths. (No public API asks this.)"""
    from _pytest.config.findpaths import determine_setup

    ns = config.known_args_namespace
    _root, inipath, settings, *_ = determine_setup(
        inifile=ns.inifilename,
        override_ini=None,  # `-o` settings apply whichever file is read: only the file's own count
        args=ns.file_or_dir,
        rootdir_cmd_arg=ns.rootdir or None,
        invocation_dir=Path(config.invocation_params.dir),
    )
    return inipath, settings
