"""The images a deploy needs and what a failed pull means (model/images.py), and the deployer's
pull step (run/deploy.py) up to the admission, with a swarm that records what it is asked.

The pull itself, against a real registry on 127.0.0.1, is tests/integration/test_image_pulls.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.images import PullProgress, pull_failure_is_recipes, service_images
from pytest_ccci.model.runner import RunnerChoices
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.deploy import Deployer
from pytest_ccci.run.repo import Checkout
from pytest_ccci.swarm import images
from pytest_ccci.swarm.images import pull_failed


def test_service_images_are_each_listed_once_in_service_order():
    config = {
        "services": {
            "app": {"image": "git.coopcloud.tech/coop-cloud/app:1.2"},
            "db": {"image": "postgres:15"},
            "worker": {"image": "git.coopcloud.tech/coop-cloud/app:1.2"},
            "built": {"build": "."},  # no image: nothing to pull
        }
    }
    assert service_images(config) == ["git.coopcloud.tech/coop-cloud/app:1.2", "postgres:15"]
    assert service_images({}) == []


# Docker's own words, as the engine said them (the first three seen on this machine against a
# registry on 127.0.0.1; Docker Hub's as it answers a repository that does not exist).
RECIPES_FAULT = [
    "manifest for 127.0.0.1:5599/ccci/pulltest:nope not found: manifest unknown: manifest unknown",
    "invalid reference format: repository name must be lowercase",
    "pull access denied for nosuchuser/nosuchimage, repository does not exist or may require 'docker login': "
    "denied: requested access to the resource is denied",
    'manifest unknown: manifest tagged by "9.9" is not found',
]
RUNNERS_FAULT = [
    'Get "http://127.0.0.1:5598/v2/": dial tcp 127.0.0.1:5598: connect: connection refused',
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
    'Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection '
    "(Client.Timeout exceeded while awaiting headers)",
    "toomanyrequests: You have reached your pull rate limit.",
    "received unexpected HTTP status: 503 Service Unavailable",
    "something nobody has classified",
]


@pytest.mark.parametrize("words", RECIPES_FAULT)
def test_a_reference_the_registry_does_not_know_is_the_recipes_fault(words):
    assert pull_failure_is_recipes(words)
    error = pull_failed("example/app:9.9", words)
    assert isinstance(error, RecipeError)
    assert str(error).startswith("image example/app:9.9 cannot be pulled: ") and words.split(":")[0] in str(error)


@pytest.mark.parametrize("words", RUNNERS_FAULT)
def test_a_registry_out_of_reach_or_unknown_words_are_the_runners(words):
    assert not pull_failure_is_recipes(words)
    error = pull_failed("example/app:1", words)
    assert isinstance(error, InfraError)
    assert str(error).startswith("image example/app:1 could not be pulled on this runner: ")


def test_pull_failures_stay_on_one_line():
    assert "\n" not in str(pull_failed("x:1", "manifest unknown\n\n  second line"))


# One pull of a two-layer image, as docker's stream reports it (trimmed).
STREAM = [
    {"status": "Pulling from ccci-pulltest/hello", "id": "7"},
    {"status": "Already exists", "progressDetail": {}, "id": "base"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "new"},
    {"status": "Downloading", "progressDetail": {"current": 1_000_000, "total": 4_000_000}, "id": "new"},
    {"status": "Downloading", "progressDetail": {"current": 3_000_000, "total": 4_000_000}, "id": "new"},
    {"status": "Download complete", "progressDetail": {}, "id": "new"},
    {"status": "Extracting", "progressDetail": {"current": 4_000_000, "total": 4_000_000}, "id": "new"},
    {"status": "Pull complete", "progressDetail": {}, "id": "new"},
    {"status": "Digest: sha256:" + "a" * 64},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5599/ccci-pulltest/hello:7"},
]


def test_progress_lines_sum_the_layers_and_come_at_most_once_per_interval():
    meter = PullProgress("img:7", every=10, started=100.0)
    lines = [meter.feed(event, now=100.0 + 4 * i) for i, event in enumerate(STREAM)]
    said = [line for line in lines if line]
    # Events at t=0,4,...,36 s: a line is due at 12 s, 24 s and 36 s (10 s after the last).
    assert said == [
        "pulling img:7: 1 of 2 layers done, 1.0 of 4.0 MB downloaded, 12s",
        "pulling img:7: 1 of 2 layers done, 4.0 of 4.0 MB downloaded, 24s",
        "pulling img:7: 2 of 2 layers done, 4.0 of 4.0 MB downloaded, 36s",
    ]


def test_a_fast_pull_says_no_progress_line():
    meter = PullProgress("img:7", every=10, started=0.0)
    assert [meter.feed(event, now=0.1) for event in STREAM] == [None] * len(STREAM)


# -- the deployer's pull step -------------------------------------------------------------------


class PullingSwarm:
    """A swarm that has some images, records the pulls it is asked for, and can fail them."""

    def __init__(self, merged: dict, present: set[str], failure: Exception | None = None):
        self.merged, self.present, self.failure = merged, present, failure
        self.pulled: list[str] = []

    def stack_config(self, files, env, cwd):
        return self.merged

    def image_present(self, image):
        return image in self.present

    def pull(self, image, timeout, on_event):
        if self.failure:
            raise self.failure
        for event in STREAM:
            on_event(event)
        self.pulled.append(image)


class Admitted(Exception):
    """Raised by the admission: the deploy got that far."""


MERGED = {"services": {"app": {"image": "app:2"}, "db": {"image": "postgres:15"}}}


def deploy_until_admission(tmp_path: Path, swarm: PullingSwarm, pull: str = "missing") -> list[str]:
    """Deploy a minimal recipe until its admission; the progress lines said."""
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "compose.yml").write_text("services: {app: {}}\n")
    (tmp_path / "r" / ".env.sample").write_text("DOMAIN=x\n")
    checkout = Checkout("r", tmp_path / "r", "HEAD", "a" * 40, False, (), ())
    app = App.for_checkout(parse_settings("r", {"source": "https://example.invalid/r.git"}, "t"), "a" * 40, "t", "run")
    said: list[str] = []

    def admit(declared):
        raise Admitted

    deployer = Deployer(swarm, tmp_path / "run", None, said.append, runner=RunnerChoices(pull=pull))  # type: ignore[arg-type]
    with pytest.raises(Admitted):
        deployer.deploy(app, checkout, "chaos", admit)  # type: ignore[arg-type]
    return said


def test_missing_images_are_pulled_before_admission_with_progress_lines(tmp_path):
    swarm = PullingSwarm(MERGED, present={"postgres:15"})
    said = deploy_until_admission(tmp_path, swarm)
    assert swarm.pulled == ["app:2"]  # the image the engine had is not pulled again
    assert said[0] == "pulling app:2 (not on this runner's engine)"
    assert said[-1].startswith("pulled app:2 in ") and said[-1].endswith("s")


def test_never_leaves_images_to_the_runner(tmp_path):
    swarm = PullingSwarm(MERGED, present=set())
    assert deploy_until_admission(tmp_path, swarm, pull="never") == []
    assert swarm.pulled == []


def test_a_failed_pull_stops_the_deploy_before_admission(tmp_path):
    swarm = PullingSwarm(MERGED, present=set(), failure=pull_failed("app:2", "manifest unknown"))
    with pytest.raises(RecipeError, match="image app:2 cannot be pulled: manifest unknown"):
        deploy_until_admission(tmp_path, swarm)


# -- the pull's bounds (swarm/images.py): docker-py reads the stream without any timeout --------


class StreamingApi:
    """docker-py's `pull(stream=True, decode=True)` as a generator of `events`, which then
    blocks for `then_silent` seconds (a registry gone quiet) or raises `then_raise`."""

    def __init__(self, events, then_silent: float = 0.0, then_raise: Exception | None = None):
        self.events, self.then_silent, self.then_raise = events, then_silent, then_raise

    def pull(self, image, stream, decode):
        assert stream and decode
        yield from self.events
        time.sleep(self.then_silent)
        if self.then_raise:
            raise self.then_raise


def test_a_pull_hands_every_event_on_and_returns_at_the_streams_end():
    seen: list = []
    images.pull(StreamingApi(STREAM), "img:7", timeout=10, on_event=seen.append)  # type: ignore[arg-type]
    assert seen == STREAM


def test_a_registry_gone_silent_ends_the_pull_as_the_runners_problem():
    started = time.monotonic()
    with pytest.raises(InfraError, match=r"image img:7: the pull said nothing for 0.3s \(the registry stalled\)"):
        images.pull(StreamingApi(STREAM[:3], then_silent=30), "img:7", 60, lambda e: None, silence=0.3)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5  # not the 30 s the stream stays silent


def test_a_pull_past_its_bound_ends_even_while_the_stream_talks():
    class Chatty:
        def pull(self, image, stream, decode):
            for _ in range(100):  # talks for 5 s, well past the bound (and then ends: no thread left behind)
                time.sleep(0.05)
                yield {"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "id": "l"}

    with pytest.raises(InfraError, match=r"the pull took over 0.5s"):
        images.pull(Chatty(), "img:7", 0.5, lambda e: None, silence=10)  # type: ignore[arg-type]


def test_an_error_in_the_stream_is_classified_and_names_the_image():
    failing = StreamingApi([STREAM[0], {"error": "manifest unknown", "errorDetail": {"message": "manifest unknown"}}])
    with pytest.raises(RecipeError, match="image img:7 cannot be pulled: manifest unknown"):
        images.pull(failing, "img:7", 10, lambda e: None)  # type: ignore[arg-type]
    broken = StreamingApi([STREAM[0]], then_raise=ConnectionResetError("engine went away"))
    with pytest.raises(ConnectionResetError):  # the facade's engine boundary names the engine's own failures
        images.pull(broken, "img:7", 10, lambda e: None)  # type: ignore[arg-type]
