"""An item's verdict from what it raised (model.verdict.classify_error), the worse of two
statuses (worse), and when the plugin asks whether the engine is still there (runner.py).

Classification goes by the error's kind, never by the module its class lives in: an app that
refuses connections during a functional test is the recipe's failure, even though the error
is requests' (defect 1). How a skip is classified: test_skip_mapping.py.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest
import requests

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.errors import InfraError, RecipeError, UsageError
from pytest_ccci.model.secrets import fingerprints
from pytest_ccci.model.text import LINE_LIMIT
from pytest_ccci.model.verdict import Status, TierVerdict, classify_error, worse
from pytest_ccci.plugin.runner import TierRunner


def engine_up() -> bool:
    return True


def engine_down() -> bool:
    return False


def never_asked() -> bool:
    raise AssertionError("the engine was asked about, for an error whose kind already says what it is")


# -- classify_error -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=80): Connection refused"),
        requests.Timeout("read timed out"),
        ConnectionRefusedError(111, "Connection refused"),
        KeyError("notes"),
        ValueError("bad JSON in the answer"),
    ],
    ids=["requests-ConnectionError", "requests-Timeout", "ConnectionRefusedError", "KeyError", "ValueError"],
)
def test_any_other_error_with_the_engine_up_is_the_recipes_failure(exc: Exception) -> None:
    status, reason = classify_error(exc, engine_up)
    assert status == Status.FAIL
    assert reason == f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def test_any_other_error_with_the_engine_down_is_unverified() -> None:
    exc = requests.ConnectionError("Connection aborted.")
    assert classify_error(exc, engine_down) == (
        Status.UNVER,
        "infrastructure: the Docker engine is unreachable (ConnectionError: Connection aborted.)",
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (AssertionError("HC1: stamped 1234\nexpected 5678"), (Status.FAIL, "HC1: stamped 1234")),
        (AssertionError(), (Status.FAIL, "assertion failed")),
        (RecipeError("recipe a: ref 'x' does not exist"), (Status.FAIL, "recipe a: ref 'x' does not exist")),
        (InfraError("the engine\n  timed out"), (Status.UNVER, "infrastructure: the engine timed out")),
        (UsageError("no Docker daemon reachable"), (Status.UNVER, "infrastructure: no Docker daemon reachable")),
    ],
    ids=["assertion", "bare-assertion", "RecipeError", "InfraError", "UsageError"],
)
def test_the_projects_own_kinds_decide_without_asking_the_engine(exc: Exception, expected: tuple[Status, str]) -> None:
    assert classify_error(exc, never_asked) == expected


def test_no_exception_is_a_plain_failure() -> None:
    assert classify_error(None, never_asked) == (Status.FAIL, "failed")


def test_a_long_message_becomes_one_bounded_line() -> None:
    status, reason = classify_error(RuntimeError("word\n" * 500), engine_up)
    assert status == Status.FAIL
    assert "\n" not in reason
    assert reason == "RuntimeError: " + " ".join(["word"] * 500)[:LINE_LIMIT]


# -- worse ----------------------------------------------------------------------------------

# Least bad first: an item's or a tier's verdict is the worst of its parts.
ORDER = [Status.PASS, Status.SKIP, Status.UNVER, Status.FAIL]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(ORDER, ORDER)))
def test_worse_takes_the_later_in_the_order(a: Status, b: Status) -> None:
    assert worse(a, b) == max(a, b, key=ORDER.index)
    assert worse(a, b) == worse(b, a)


@pytest.mark.parametrize("b", ORDER)
def test_worse_of_nothing_yet(b: Status) -> None:
    assert worse(None, b) == b


# -- the wire form --------------------------------------------------------------------------


def test_a_verdict_survives_the_trip_to_the_controller() -> None:
    verdict = TierVerdict(
        "hello",
        "functional",
        Status.FAIL,
        "ConnectionError: refused",
        facts=RecipeFacts(head_sha="0" * 40, durations={"install": 1.5}, install_stamp={}),
        fingerprints=tuple(fingerprints(["s3cret-value-of-32-characters-xx"])),
    )
    wire = json.loads(json.dumps(verdict.to_wire()))  # what xdist ships is plain data
    assert TierVerdict.from_wire(wire, RecipeFacts.from_wire) == verdict
    assert TierVerdict.from_wire(wire).facts is None, "a payload nobody asked to read stays unread"


# -- when the engine is asked about ---------------------------------------------------------


class Swarm:
    def __init__(self, answers: bool):
        self.answers = answers
        self.pings = 0

    def reachable(self) -> bool:
        self.pings += 1
        return self.answers


def runner_with(connected: bool, swarm: Swarm) -> TierRunner:
    return TierRunner(SimpleNamespace(runtime=SimpleNamespace(connected=connected, swarm=swarm)))  # type: ignore[arg-type]


def test_a_process_that_never_connected_does_not_connect_to_ask() -> None:
    swarm = Swarm(answers=False)
    assert runner_with(connected=False, swarm=swarm).engine_reachable() is True
    assert swarm.pings == 0


@pytest.mark.parametrize("answers", [True, False])
def test_a_connected_process_pings_the_engine(answers: bool) -> None:
    swarm = Swarm(answers=answers)
    assert runner_with(connected=True, swarm=swarm).engine_reachable() is answers
    assert swarm.pings == 1
