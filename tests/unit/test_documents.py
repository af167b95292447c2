"""documents/: results.json as typed dataclasses, its JSON Schema (shipped, generated from the
dataclasses), and documents of every shape a run makes validated against it with jsonschema."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from report_docs import doc, entry, typed
from test_results import run_item

from pytest_ccci.documents.files import read_results, write_results
from pytest_ccci.documents.merge import merge
from pytest_ccci.documents.results import RecipeResult, ResultsDocument
from pytest_ccci.documents.schema import SCHEMA_FILE, results_schema, schema_text
from pytest_ccci.model.compose import resource_bounds
from pytest_ccci.model.policy import DeployPolicy
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.run.results import Results

HEAD = "c" * 40
SETTINGS = {
    "source": "https://git.example/recipes/app.git",
    "env": {"DB_PASSWORD": "********"},
    "not_applicable": {"backup": "n/a: no volumes"},
    "upgrade_from": None,
    "deploy_timeout": 300.0,
    "route": {"check": True, "reason": None, "network": "proxy"},
    "allow": [{"kind": "host_path", "service": "app", "reason": "logs", "from": "ccci.yml", "source": "./logs"}],
    "pull": None,
}
BACKUP = {"file": "/run/backups/app.tar.gz", "manifest": "/run/backups/app.json", "bytes": 2048, "paths": ["app:/data"]}
WARNING = {"id": "R002", "description": "healthcheck enabled for all services", "detail": "service db has none"}


def lifecycle_facts(**more):
    """What run/lifecycle.py and the tier fixtures record (documents/facts.py's RecipeFacts),
    in the wire form a report carries it in."""
    policy = DeployPolicy(memory_limit_mib=512).shown()
    policy["memory_limits"] = {"app": 512}
    policy["bounds"] = resource_bounds({"services": {"app": {"deploy": {"resources": {"limits": {"pids": 100}}}}}})
    return {
        "settings": SETTINGS,
        "policy": policy,
        "ref": "default branch",
        "head_sha": HEAD,
        "dirty": False,
        "head_release": "1.1.0+2.0",
        "compose_files": ["compose.yml"],
        "domain": "app-cccccc.ccci.test",
        "lock": {"acquired": 1.0, "released": 2.0},
        "pulled": {"nginx:1.27": 1.5},
        "endpoint_note": None,
        "deploy_deadline": {"seconds": 300.0, "why": "deploy_timeout in ccci.yml"},
        "durations": {f"deploy_chaos_{HEAD[:8]}": 4.2, "teardown": 1.0},
        "install_stamp": {"chaos": "true", "version": "1.1.0+2.0"},
        "lint": {"mirrors": "abra R001-R016", "warnings": [WARNING]},
        "clean_teardown": True,
        **more,
    }


def one_run(tiers=TIERS, facts=None, status_of=None, interrupted=False) -> Results:
    res = Results(["app"], tiers, "20260101000000-abcdef")
    for tier in tiers:
        status, reason = (status_of or {}).get(tier, ("pass", ""))
        run_item(res, "app", tier, status, reason, facts=facts or lifecycle_facts())
    res.interrupted = interrupted
    return res


SHAPES = {
    "all pass, warnings": lambda: one_run(),
    "a failing tier": lambda: one_run(status_of={"functional": ("fail", "assert 1 == 2")}),
    "not applicable (skip)": lambda: one_run(status_of={"backup": ("skip", "n/a: no volumes")}),
    "unverified (the runner's trouble)": lambda: one_run(status_of={"install": ("unver", "docker went away")}),
    "upgrade base and backups": lambda: one_run(
        facts=lifecycle_facts(
            upgrade_base={"version": "1.0.0+2.0", "how": "newest older release"},
            upgrade_runs=["1.0.0+2.0"],
            upgrade_stamp={"chaos": "true"},
            backup=BACKUP,
            restore=BACKUP,
        )
    ),
    "interrupted, nothing recorded": lambda: Results(["app"], TIERS, "r-interrupted"),
    "a selection of tiers": lambda: one_run(tiers=("lint", "install")),
}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_shipped_schema_is_the_one_the_dataclasses_generate():
    # Regenerate with `python -m pytest_ccci.documents.schema` after changing documents/results.py.
    assert SCHEMA_FILE.read_text() == schema_text()


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_of_results_json_validates(validator, shape):
    written = SHAPES[shape]().as_dict()
    assert problems(validator, written) == []


def test_a_merged_dashboard_document_validates(validator):
    shard_one = ResultsDocument.from_wire(one_run().as_dict())
    shard_two = ResultsDocument.from_wire(doc({"other": entry("other")}, run_id="r2", shard="2/2"))
    merged = merge([("one", shard_one), ("two", shard_two)]).to_wire()
    assert merged["merged_from"] and merged["recipes"]["other"]["run_id"] == "r2"
    # the older, thinner entry validates as far as it goes; only the fields every version wrote are required
    missing = {e.message for e in Draft202012Validator(results_schema()).iter_errors(merged)}
    assert all("is a required property" in m for m in missing)
    assert problems(validator, merge([("one", shard_one)]).to_wire()) == []


def test_the_schema_refuses_what_is_not_a_results_document(validator):
    written = one_run().as_dict()
    written["recipes"]["app"]["rungs"]["install"]["status"] = "maybe"
    written["recipes"]["app"]["level"] = "five"
    del written["recipes"]["app"]["tiers"]
    found = problems(validator, written)
    assert any("'maybe' is not one of" in p for p in found)
    assert any("'five' is not of type 'integer'" in p for p in found)
    assert any("'tiers' is a required property" in p for p in found)


def test_the_typed_document_keeps_every_key_results_json_had():
    written = one_run(facts=lifecycle_facts(backup=BACKUP)).as_dict()
    app = written["recipes"]["app"]
    assert app["warnings"] == [WARNING]
    assert app["lint_mirrors"] == "abra R001-R016"
    assert app["deploy_deadline"] == {"seconds": 300.0, "why": "deploy_timeout in ccci.yml"}
    assert app["compose_files"] == ["compose.yml"]
    assert app["policy"]["bounds"]["app"]["pids"] == 100 and app["policy"]["memory_limits"] == {"app": 512}
    assert app["settings"] == SETTINGS  # the allowance's `from` and `source` included
    assert app["stamps"] == {"install_stamp": {"chaos": "true", "version": "1.1.0+2.0"}}
    assert app["lock"] == {"acquired": 1.0, "released": 2.0} and app["backup"] == BACKUP
    assert set(written) == {"schema", "run_id", "started", "finished", "interrupted", "shard", "recipes"}


def test_a_restore_without_a_backup_is_recorded_as_none():
    # The lifecycle records no restore backup as None (run/lifecycle.py restore()).
    assert one_run(facts=lifecycle_facts(restore=None)).as_dict()["recipes"]["app"]["restore"] is None


def test_reading_back_what_was_written_gives_the_same_document(tmp_path):
    document = one_run(facts=lifecycle_facts(backup=BACKUP)).document()
    write_results(tmp_path / "results.json", document)
    assert read_results(tmp_path / "results.json") == document


def test_keys_this_version_does_not_know_survive_a_read_and_a_merge():
    newer = doc({"a": {**entry("a"), "energy_joules": 12}})
    newer["generator"] = "pytest-ccci 9"
    read = typed(newer)
    assert read.recipes["a"].extra == {"energy_joules": 12}
    assert merge([("newer", read)]).to_wire()["recipes"]["a"]["energy_joules"] == 12
    assert read.to_wire()["generator"] == "pytest-ccci 9"


def test_an_older_file_reads_with_nothing_recorded_for_keys_it_lacks():
    old = RecipeResult.from_wire({"level": 3, "rungs": {"install": {"status": "pass", "reason": ""}}})
    assert old.level == 3 and old.rungs["install"].status == "pass"
    assert old.warnings == [] and old.deploy_deadline is None and old.no_secret_leak is None and old.wall is None
