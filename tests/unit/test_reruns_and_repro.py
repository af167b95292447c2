"""Reruns of a failed tier (model/reruns.py: the reason's words, intermittency) and the repro
line (model/repro.py), as the results, the level ladder, the history and the reports carry them."""

from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest
from _pytest.mark.expression import Expression
from report_docs import doc, entry, typed

from pytest_ccci.documents.history import load, record
from pytest_ccci.documents.results import RecipeResult, TierItem, TierRun, rung_text
from pytest_ccci.model.level import TierResult, rungs_from_tiers
from pytest_ccci.model.naming import app_domain, stack_name
from pytest_ccci.model.repro import Repro, combined, tier_repro
from pytest_ccci.model.reruns import TierRun as Run
from pytest_ccci.model.reruns import intermittent, rerun_variant, reruns_reason
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.report.assets import markdown_code
from pytest_ccci.report.summary import summary
from pytest_ccci.run.results import Results

SHA = "0123456789abcdef0123456789abcdef01234567"
MAIN = app_domain("hello", SHA, "ccci.test")
R2 = app_domain("hello", SHA, "ccci.test", rerun_variant(2))
R3 = app_domain("hello", SHA, "ccci.test", rerun_variant(3))

# -- the reason's words ------------------------------------------------------------------------


def test_a_head_that_fails_once_then_passes_is_intermittent_and_says_each_run():
    runs = [Run(Status.FAIL, "no marker yet", MAIN), Run(Status.PASS, "", R2), Run(Status.PASS, "", R3)]
    assert intermittent(runs)
    assert reruns_reason(runs) == (
        "intermittent: failed 1 of 3 runs: run 1 failed: no marker yet; run 2 passed; run 3 passed"
    )


def test_a_failure_that_held_is_said_once_when_only_the_run_domain_differs():
    """Each run deploys on a domain (and stack) of its own: a cause naming it is the same cause."""
    runs = [Run(Status.FAIL, f"install of {stack_name(d)}: task failed on {d}", d) for d in (MAIN, R2, R3)]
    assert not intermittent(runs)
    assert reruns_reason(runs) == f"failed 3 of 3 runs: install of {stack_name(MAIN)}: task failed on {MAIN}"


def test_a_held_failure_names_each_later_run_whose_cause_differs():
    runs = [Run(Status.FAIL, "exit 1", MAIN), Run(Status.FAIL, "exit 1", R2), Run(Status.FAIL, "OOM killed", R3)]
    assert reruns_reason(runs) == "failed 3 of 3 runs: exit 1; run 3: OOM killed"


def test_runs_that_failed_or_could_not_be_verified_are_not_intermittent():
    runs = [Run(Status.FAIL, "exit 1"), Run(Status.UNVER, "infrastructure: lock timeout"), Run(Status.FAIL, "exit 1")]
    assert not intermittent(runs)
    assert reruns_reason(runs) == (
        "failed 2 of 3 runs: run 1 failed: exit 1; run 2 unverified: infrastructure: lock timeout; run 3 failed: exit 1"
    )


def test_a_run_round_trips_through_the_verdict_wire():
    runs = (Run(Status.FAIL, "x", MAIN), Run(Status.PASS, "", None))
    repro = tier_repro("hello", "install", SHA)
    verdict = TierVerdict("hello", "install", Status.FAIL, "r", runs=runs, repro=repro)
    back = TierVerdict.from_wire(verdict.to_wire())
    assert back.runs == runs and back.repro == repro
    assert TierVerdict.from_wire({"recipe": "a", "tier": "lint", "status": "pass"}).runs == ()  # older wire


# -- the repro line ----------------------------------------------------------------------------


def test_repro_names_recipe_full_sha_and_tier():
    assert tier_repro("hello", "install", SHA).command() == f"pytest --recipe hello --ref {SHA} --tiers install"


def test_repro_pins_the_upgrade_base_with_real_options_and_quotes_it():
    line = tier_repro("hello", "upgrade", SHA, "1.2.0+3.4.5").command()
    assert (
        line == f"pytest --recipe hello --ref {SHA} --tiers upgrade --upgrade-from all -k 'test_upgrade[1.2.0+3.4.5]'"
    )
    args = shlex.split(line)
    assert args[args.index("--upgrade-from") + 1] in ("auto", "all", "last-green")  # what the option takes


def test_the_base_counts_for_the_upgrade_tier_only():
    assert tier_repro("hello", "backup", SHA, "1.2.0+3.4.5").upgrade_base is None


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("test_upgrade[1.2.0+3.4.5]", True),
        ("test_upgrade[1.2.0+3.4.6]", False),
        ("test_upgrade[11.2.0+3.4.5]", False),
        ("test_install", False),
    ],
)
def test_the_k_expression_keeps_only_the_item_of_that_base(name, kept):
    """pytest's own -k parser: the pinned base's item is kept, no other."""
    args = shlex.split(tier_repro("hello", "upgrade", SHA, "1.2.0+3.4.5").command())
    expression = Expression.compile(args[args.index("-k") + 1])
    assert expression.evaluate(lambda word: word.lower() in name.lower()) is kept


def test_with_other_tiers_the_k_expression_keeps_them_too():
    repro = Repro("hello", SHA, ("install", "upgrade"), "1.0.0+1")
    args = shlex.split(repro.command())
    expression = Expression.compile(args[args.index("-k") + 1])
    assert expression.evaluate(lambda word: word in "test_install")
    assert not expression.evaluate(lambda word: word in "test_upgrade[0.9.0+1]")


def test_repro_quotes_what_a_shell_would_read():
    line = Repro("odd name;rm", "v1 $x", ("install",), recipes_dir="my recipes").command()
    assert shlex.split(line) == [
        "pytest",
        "--recipe",
        "odd name;rm",
        "--recipes-dir",
        "my recipes",
        "--ref",
        "v1 $x",
        "--tiers",
        "install",
    ]


def test_repro_without_a_resolved_commit_leaves_out_the_ref():
    assert Repro("hello", None, ("install",)).command() == "pytest --recipe hello --tiers install"


def test_repros_of_one_recipe_combine_in_tier_order_and_a_pinned_upgrade_stays_apart():
    repros = [tier_repro("a", t, SHA) for t in ("lint", "install", "functional")]
    repros.append(tier_repro("a", "upgrade", SHA, "1.0.0+1"))
    lines = [r.command() for r in combined(repros)]
    assert lines == [
        f"pytest --recipe a --ref {SHA} --tiers install,functional,lint",
        f"pytest --recipe a --ref {SHA} --tiers upgrade --upgrade-from all -k 'test_upgrade[1.0.0+1]'",
    ]


# -- rungs, results, terminal ------------------------------------------------------------------


def test_a_rung_carries_its_deciding_results_marks():
    repro = tier_repro("a", "restore", SHA)
    rungs = {
        r.name: r
        for r in rungs_from_tiers(
            {"backup": [TierResult(Status.PASS)], "restore": [TierResult(Status.FAIL, "lost", True, repro)]}
        )
    }
    assert rungs["backup_restore"].status == Status.FAIL
    assert rungs["backup_restore"].intermittent and rungs["backup_restore"].repro == repro


def _report(when: str, status: Status, reason: str = "", **kw):
    verdict = TierVerdict("a", "functional", status, reason, **kw)
    outcome = {Status.PASS: "passed", Status.FAIL: "failed"}[status]
    return SimpleNamespace(
        nodeid="recipes/a/test_a.py::test_x",
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=False,
        duration=1.0,
        longrepr=None,
        sections=[],
        **{REPORT_ATTRIBUTE: verdict.to_wire()},
    )


def test_results_keep_every_run_and_mark_the_rung_intermittent():
    runs = (Run(Status.FAIL, "no marker", MAIN), Run(Status.PASS, "", R2), Run(Status.PASS, "", R3))
    results = Results(["a"], ["functional"], "run")
    reason = reruns_reason(runs)
    results.add(_report("setup", Status.PASS))
    results.add(_report("call", Status.FAIL, reason, runs=runs, repro=tier_repro("a", "functional", SHA)))
    rec = results.as_dict()["recipes"]["a"]
    item = rec["tiers"]["recipes/a/test_a.py::test_x"]
    assert item["status"] == "fail" and item["reason"] == reason
    assert [r["status"] for r in item["runs"]] == ["fail", "pass", "pass"]
    assert [r["domain"] for r in item["runs"]] == [MAIN, R2, R3]
    assert rec["rungs"]["functional"] == {
        "status": "fail",
        "reason": reason,
        "intermittent": True,
        "repro": f"pytest --recipe a --ref {SHA} --tiers functional",
    }
    table = results.table()
    assert table[1].split()[-2:] == ["(intermittent)", "unver"]
    assert f"    rerun: pytest --recipe a --ref {SHA} --tiers functional" in table


def test_a_tier_item_that_was_not_rerun_writes_no_runs_key():
    assert "runs" not in TierItem("install", "pass").to_wire()
    assert "intermittent" not in results_rung_of_a_plain_fail()


def results_rung_of_a_plain_fail() -> dict:
    results = Results(["a"], ["functional"], "run")
    results.add(_report("call", Status.FAIL, "boom", repro=tier_repro("a", "functional", SHA)))
    return results.as_dict()["recipes"]["a"]["rungs"]["functional"]


def test_rung_text_marks_intermittent_beside_warnings():
    warning = {"id": "R001", "description": "d", "detail": "", "rung": "functional"}
    assert rung_text("functional", "fail", [], True) == "fail (intermittent)"
    assert rung_text("functional", "fail", [warning], True) == "fail (intermittent, 1 warn)"
    assert rung_text("functional", "fail", [], None) == "fail"


# -- the history counts every run --------------------------------------------------------------


def _with_runs(name: str, letters: str, head: str = "h1") -> dict:
    e = entry(name, tiers={"install": "pass", "functional": "fail"}, head=head, level=1)
    e["tiers"][f"ccci/{name}::test_functional"]["runs"] = [
        {"status": {"p": "pass", "f": "fail"}[c], "reason": ""} for c in letters
    ]
    return e


def test_the_history_records_each_run_of_a_rerun_tier_and_the_flake_rate_counts_them(tmp_path):
    record(tmp_path, typed(doc({"flaky": _with_runs("flaky", "fpp"), "broken": _with_runs("broken", "fff")})))
    history = load(tmp_path)
    flaky, broken = history["flaky"].flakes()["functional"], history["broken"].flakes()["functional"]
    assert (flaky.rate, flaky.flaky_heads, flaky.runs, flaky.intermittent) == (1 / 3, 1, 3, 1)
    assert (broken.rate, broken.flaky_heads, broken.runs, broken.intermittent) == (0.0, 0, 3, 0)  # held: not a flake
    assert history["flaky"].points[0].runs == {"functional": "fpp"}
    assert history["flaky"].flakes()["install"].runs == 1  # a tier not rerun counts its one run


def test_tier_runs_come_from_the_failed_item_that_was_rerun():
    result = RecipeResult.from_wire(_with_runs("x", "fpp"))
    assert result.tier_runs() == {"functional": [Status.FAIL, Status.PASS, Status.PASS]}
    assert TierRun.from_wire({"status": "pass"}).domain is None


# -- summary.md --------------------------------------------------------------------------------


def test_summary_lists_each_rung_to_rerun_with_its_command_marked_intermittent():
    e = entry("a", level=0)
    e["rungs"]["functional"] = {
        "status": "fail",
        "reason": "intermittent: failed 1 of 3 runs",
        "intermittent": True,
        "repro": f"pytest --recipe a --ref {SHA} --tiers functional",
    }
    text = summary(doc({"a": e}), None, "t")
    assert f"| a | functional | fail (intermittent) | `pytest --recipe a --ref {SHA} --tiers functional` |" in text


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("pytest -k 'a or b'", "`pytest -k 'a or b'`"),
        ("x | y", "`x \\| y`"),  # a table cell's pipe
        ("a `b` c", "``a `b` c``"),
        ("`x`", "`` `x` ``"),
    ],
)
def test_a_command_is_one_inert_code_span(command, shown):
    assert markdown_code(command) == shown


# -- prerequisites see the first run's fail ----------------------------------------------------


def test_a_pass_on_a_rerun_never_lifts_the_outcome_prerequisites_read():
    """runner.py records every verdict of an item, its reruns' included: the worse one stays."""
    from pytest_ccci.plugin.runner import TierRunner, item_status_key

    ctx = SimpleNamespace(outcomes={})
    runner = TierRunner(ctx)  # type: ignore[arg-type]  # record() reads ctx.outcomes only
    item = SimpleNamespace(stash=pytest.Stash())
    for status in (Status.FAIL, Status.PASS, Status.PASS):  # the first run, then two reruns
        verdict = TierVerdict("a", "install", status)
        runner.record(item, SimpleNamespace(when="call"), verdict)  # type: ignore[arg-type]
    assert ctx.outcomes[("a", "install")] == Status.FAIL
    assert item.stash[item_status_key] == Status.FAIL


def test_the_dashboard_marks_the_rung_and_gives_its_command():
    from pytest_ccci.report.pages import index_page, recipe_page

    e = entry("a", level=0)
    command = f"pytest --recipe a --ref {SHA} --tiers functional -k 'x<y'"
    e["rungs"]["functional"] = {"status": "fail", "reason": "r", "intermittent": True, "repro": command}
    document = doc({"a": e})
    assert '<td class="fail">fail (intermittent)</td>' in index_page(document, None, "t")
    page = recipe_page("a", e, document, None)
    assert '<td class="fail">fail (intermittent)</td>' in page
    assert "<code>pytest --recipe a --ref " + SHA + " --tiers functional -k &#39;x&lt;y&#39;</code>" in page
