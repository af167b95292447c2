"""The realistic examples (an app + PostgreSQL, shaped like catalogue recipes) on the real swarm.

ONE run of the three recipes together (`-n 2`), to keep CI short: notes-pg reaches L5 (its
seeded note survives the 1.0.0 → 1.1.0 migration and a restore from the backup file on disk);
its bad-migration variant stops at L1 with PostgreSQL's own words; its config-drift variant
stops at L1 with docker's own words, naming the config. Needs the images scripts/build-images.sh
builds (tox's set-up step).
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import yaml

from conftest import ROOT

RECIPES = ("notes-pg", "notes-pg-badmigration", "notes-pg-configdrift")
NAMES = {"notes-pg": "rnotes", "notes-pg-badmigration": "rbadmig", "notes-pg-configdrift": "rdrift"}


def enroll_like_the_project(lab, example: str) -> str:
    """Enroll the example under a name of its own, with the project's settings for it."""
    name = NAMES[example]
    settings = yaml.safe_load((ROOT / "recipes" / example / "ccci.yml").read_text())
    del settings["source"]
    lab.enroll(name, example=example, settings={**settings, "env": {}})
    tests = ROOT / "recipes" / example / "test_notes_pg.py"
    if tests.is_file():
        (lab.recipes_dir / name / f"test_{name}.py").write_text(tests.read_text())
    return name


def manifest_holds(backup: dict) -> bool:
    """The backup file on disk matches its manifest, member by member (sha256sum's format)."""
    lines = Path(backup["manifest"]).read_text().splitlines()
    expected = {name: digest for digest, _, name in (ln.partition("  ") for ln in lines)}
    with tarfile.open(backup["file"]) as tar:
        found = {m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest() for m in tar if m.isfile()}
    return bool(expected) and found == expected


def test_realistic_examples_reach_their_levels_in_their_own_words(lab, assert_clean):
    names = [enroll_like_the_project(lab, example) for example in RECIPES]
    run = lab.run(*(arg for name in names for arg in ("--recipe", name)), "-n", "2", timeout=1500)
    notes, badmig, drift = (run.recipe(name) for name in names)

    assert notes["level"] == 5, (notes["why_not_higher"], run.output[-3000:])
    # Install's deploy and the upgrade's, of the same head, each keep their time.
    head, base = notes["head_sha"][:8], notes["upgrade_base"]["version"]
    assert {f"deploy_chaos_{head}", f"upgrade_from_{base}_chaos_{head}"} <= set(notes["deploy_durations"]), notes
    for backup in (notes["backup"], notes["restore"]):
        assert backup["paths"] == ["db:/var/lib/postgresql/data/backup.sql"], backup
        assert manifest_holds(backup), f"backup file and manifest disagree: {backup}"

    bad = badmig["rungs"]["upgrade"]
    assert bad["status"] == "fail" and badmig["level"] == 1, badmig["rungs"]
    assert 'column "author" of relation "notes" contains null values' in bad["reason"], bad["reason"]

    drifted = drift["rungs"]["upgrade"]
    assert drifted["status"] == "fail" and drift["level"] == 1, drift["rungs"]
    assert "app_py" in drifted["reason"] and "only updates to Labels are allowed" in drifted["reason"], drifted

    for rec in (notes, badmig, drift):
        assert rec["clean_teardown"] is True and rec["no_secret_leak"] is True, rec
        assert_clean(rec["domain"])
