"""Image references and the registry they name (model/images.py), what a failed pull means
(model/fetch_failures.py), the pull's progress lines, a pull stream that is not one
(swarm/images.py), and the deployer's pull step (run/deploy.py) with a swarm that records what
it is asked. The pull's bounds need a registry: tests/integration/test_image_pulls.py.

The pull itself, against a real registry on 127.0.0.1, is tests/integration/test_image_pulls.py.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import docker
import docker.auth
import pytest
import requests
import yaml

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.compose import service_images
from pytest_ccci.model.fetch_failures import REGISTRY_IMAGE
from pytest_ccci.model.images import PullProgress, registry_host, registry_of, runner_network_registry
from pytest_ccci.model.policy import Allowance, DeployPolicy, findings
from pytest_ccci.model.runner import RunnerChoices
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.deploy import Deployer
from pytest_ccci.run.repo import Checkout
from pytest_ccci.swarm import images
from pytest_ccci.swarm.convergence import Convergence
from pytest_ccci.swarm.images import pull_failed


def test_service_images_name_each_service_that_runs_one():
    config = {
        "services": {
            "app": {"image": "git.coopcloud.tech/coop-cloud/app:1.2"},
            "db": {"image": "postgres:15"},
            "worker": {"image": "git.coopcloud.tech/coop-cloud/app:1.2"},
            "built": {"build": "."},  # no image: nothing to pull
        }
    }
    assert service_images(config) == {
        "app": "git.coopcloud.tech/coop-cloud/app:1.2",
        "db": "postgres:15",
        "worker": "git.coopcloud.tech/coop-cloud/app:1.2",
    }
    assert service_images({}) == {}


@pytest.mark.parametrize(
    ("image", "host", "runners_network"),
    [
        ("postgres:15", None, False),  # Docker Hub
        ("coopcloud/app:1.2", None, False),  # Docker Hub: a first component without . or :
        ("git.coopcloud.tech/coop-cloud/app:1.2", "git.coopcloud.tech", False),
        ("ghcr.io/org/app@sha256:" + "a" * 64, "ghcr.io", False),
        ("127.0.0.1:5000/app:1", "127.0.0.1", True),
        ("localhost:5000/app:1", "localhost", True),
        ("localhost/app", "localhost", True),
        ("10.1.2.3/app:1", "10.1.2.3", True),
        ("192.168.0.9:443/app:1", "192.168.0.9", True),
        ("172.20.0.1:5000/app", "172.20.0.1", True),
        ("169.254.169.254/latest:1", "169.254.169.254", True),  # a cloud's metadata service
        ("[::1]:5000/app:1", "::1", True),
        ("[fd00::1]/app:1", "fd00::1", True),
        ("0.0.0.0:5000/app:1", "0.0.0.0", True),
        ("93.184.216.34:5000/app:1", "93.184.216.34", False),  # a public address
        ("100.100.1.1:5000/app", "100.100.1.1", True),  # shared address space (CGNAT, tailnets)
        ("LOCALHOST:5000/app:1", "localhost", True),  # a capital letter: a registry, to docker
        ("Localhost/app:1", "localhost", True),
        ("Myhost/app:1", "myhost", True),  # one label: a name on the runner's own network
        ("registry:5000/app", "registry", True),
        ("nas.local/app:1", "nas.local", True),
        ("registry.internal:5000/app", "registry.internal", True),
        ("registry.home.arpa/app", "registry.home.arpa", True),
        ("127.1:5000/app", "127.1", True),  # IPv4 in disguise: the C resolver reads an address
        ("0x7f.0.0.1/app", "0x7f.0.0.1", True),
        ("10.1/app", "10.1", True),
        ("nas.corp/app", "nas.corp", True),  # never delegated: the runner's DNS search domain
        ("x.test/app", "x.test", True),
        ("kubernetes.default.svc/app", "kubernetes.default.svc", True),
    ],
)
def test_the_registry_an_image_names_and_whether_it_is_on_the_runners_network(image, host, runners_network):
    assert registry_host(image) == host
    assert runner_network_registry(image) is runners_network


def test_the_deploy_policy_finds_images_from_the_runners_network():
    config = {"services": {"app": {"image": "10.0.0.5:5000/app:1"}, "db": {"image": "postgres:15"}}}
    assert [(f.service, f.key, f.value, f.kind) for f in findings(config, ".")] == [
        ("app", "image", "10.0.0.5:5000/app:1", "private-registry")
    ]


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
    # The engine's own storage and the runner's own credentials: "denied" here is not the registry's.
    "failed to register layer: open /var/lib/docker/overlay2/x/committed: permission denied",
    "open /root/.docker/config.json: permission denied",
    'Head "https://registry.example/v2/app/manifests/1": unauthorized: incorrect username or password',
]


@pytest.mark.parametrize("words", RECIPES_FAULT)
def test_a_reference_the_registry_does_not_know_is_the_recipes_fault(words):
    assert REGISTRY_IMAGE.recipes_fault(words)
    error = pull_failed("example/app:9.9", words)
    assert isinstance(error, RecipeError)
    assert str(error).startswith("image example/app:9.9 cannot be pulled: ") and words.split(":")[0] in str(error)


@pytest.mark.parametrize("words", RUNNERS_FAULT)
def test_a_registry_out_of_reach_or_unknown_words_are_the_runners(words):
    assert not REGISTRY_IMAGE.recipes_fault(words)
    error = pull_failed("example/app:1", words)
    assert isinstance(error, InfraError)
    assert str(error).startswith("image example/app:1 could not be pulled on this runner: ")


def test_the_credentials_of_the_registry_docker_pulls_from():
    assert registry_of("Myhost/app:1") == "Myhost"  # docker-py alone would take Docker Hub's
    assert registry_of("127.0.0.1:5000/app:1") == "127.0.0.1:5000"
    assert registry_of("coopcloud/app:1") is None


@pytest.mark.parametrize("line", [b"garbage", b"null", b"[1]"])
def test_a_pull_stream_line_that_is_no_event_is_one_line_not_a_traceback(line):
    said = line.decode()
    with pytest.raises(
        InfraError, match=rf"image img:7: the engine's pull stream said '{re.escape(said)}', not an event"
    ):
        images._event(line, "img:7")
    assert images._event(b"", "img:7") == {}


class RecordingApi(docker.APIClient):
    """docker-py's own client (its credential lookup, its request building), with `post`
    recording what would be sent and answering as `answer` says."""

    def __init__(self, answer: str = "ok", engine_answers: bool = True):
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self._auth_configs = docker.auth.AuthConfig(
            {"auths": {"docker.io": {"auth": HUB_AUTH}, "Myhost": {"auth": MYHOST_AUTH}}}
        )
        self.answer, self.engine_answers, self.sent = answer, engine_answers, []

    def post(self, url, **kwargs):
        self.sent.append(kwargs)
        if self.answer == "silence":
            raise requests.exceptions.ReadTimeout("read timed out")
        return FakeResponse()

    def ping(self):
        if not self.engine_answers:
            raise requests.exceptions.ConnectionError("engine gone")
        return True


class FakeResponse:
    status_code = 200

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def iter_lines(self):
        return iter([b'{"status": "Pulling from app"}'])


HUB_AUTH, MYHOST_AUTH = "aHViOmh1Yg==", "bXk6b3du"


@pytest.mark.parametrize(
    ("image", "auth"), [("Myhost/app:1", MYHOST_AUTH), ("Evil/app:1", None), ("coopcloud/app:1", HUB_AUTH)]
)
def test_a_pull_sends_the_credentials_of_the_registry_docker_pulls_from_and_no_other(image, auth):
    api = RecordingApi()
    images.pull(api, image, lambda event: None)
    header = api.sent[0]["headers"].get("X-Registry-Auth")
    # docker-py alone reads `Evil/app` as a Docker Hub repository and would send Hub's to `Evil`.
    assert (json.loads(base64.urlsafe_b64decode(header))["auth"] if header else None) == auth


def test_silence_before_the_engine_answers_is_the_registrys_unless_the_engine_is_gone():
    with pytest.raises(InfraError, match=r"image r/app:1: the pull said nothing for 2s \(the registry stalled\)"):
        images.pull(RecordingApi("silence"), "r/app:1", lambda event: None, silence=2)
    with pytest.raises(InfraError, match=r"the Docker engine stopped answering while pulling image r/app:1"):
        images.pull(RecordingApi("silence", engine_answers=False), "r/app:1", lambda event: None, silence=2)


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
    """A swarm that has some images, records the pulls it is asked for (each takes
    `pull_seconds`), can fail them, and accepts a deploy at once. `merged` is the recipe's
    compose file (docker's CLI merges it into the deployer's view)."""

    def __init__(self, merged: dict, present: set[str], failure: Exception | None = None, pull_seconds: float = 0):
        self.merged, self.present, self.failure, self.pull_seconds = merged, present, failure, pull_seconds
        self.pulled: list[str] = []
        self.asked: list[str] = []  # images asked about

    def image_present(self, image):
        self.asked.append(image)
        return image in self.present

    def pull(self, image, on_event, silence=None):
        if self.failure:
            raise self.failure
        time.sleep(self.pull_seconds)
        for event in STREAM:
            on_event(event)
        self.pulled.append(image)

    # A deploy accepted at once: what the deployer asks of the swarm after its pulls.
    def ensure_networks(self, names):
        return []

    def services(self, stack):
        return []

    def snapshot(self, stack):
        return {}

    def stack_deploy(self, stack, compose_file, cwd):
        pass

    def wait_converged(self, stack, since, timeout, max_task_failures, expect_update, progress):
        return Convergence(True, "converged", {}, 0.0)


class Admitted(Exception):
    """Raised by the admission: the deploy got that far."""


MERGED = {"services": {"app": {"image": "app:2"}, "db": {"image": "postgres:15"}, "worker": {"image": "app:2"}}}


def deploy(
    tmp_path: Path,
    swarm: PullingSwarm,
    pull: str = "missing",
    until_admission: bool = True,
    recipe_pull: str | None = None,
    **kwargs,
):
    """Deploy a minimal recipe (to its admission, or through); (the progress lines said, the deployment)."""
    (tmp_path / "r").mkdir(parents=True)
    (tmp_path / "r" / "compose.yml").write_text(yaml.safe_dump(swarm.merged))
    (tmp_path / "r" / ".env.sample").write_text("DOMAIN=x\n")
    checkout = Checkout("r", tmp_path / "r", "HEAD", "a" * 40, False, (), ())
    raw = {"source": "https://example.invalid/r.git", **({"pull": recipe_pull} if recipe_pull else {})}
    app = App.for_checkout(parse_settings("r", raw, "t"), "a" * 40, "t", "run")
    said: list[str] = []

    def admit(declared):
        if until_admission:
            raise Admitted
        return lambda: None

    runner = RunnerChoices(endpoint_mode="vip", pull=pull)
    deployer = Deployer(swarm, tmp_path / "run", None, said.append, runner=runner)  # type: ignore[arg-type]
    if not until_admission:
        return said, deployer.deploy(app, checkout, "chaos", admit, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Admitted):
        deployer.deploy(app, checkout, "chaos", admit, **kwargs)  # type: ignore[arg-type]
    return said, None


def test_missing_images_are_pulled_once_before_admission_with_progress_lines(tmp_path):
    swarm = PullingSwarm(MERGED, present={"postgres:15"})
    pulled: dict[str, float] = {}
    said, _ = deploy(tmp_path, swarm, pulled=pulled)
    assert swarm.pulled == ["app:2"]  # once for app and worker; the image the engine had is not pulled
    assert list(pulled) == ["app:2"]
    assert said[0] == "pulling app:2 (not on this runner's engine)"
    assert said[-1].startswith("pulled app:2 in ") and said[-1].endswith("s")


def test_a_deploys_time_leaves_its_pulls_out(tmp_path):
    pulled: dict[str, float] = {}
    _, deployment = deploy(
        tmp_path, PullingSwarm(MERGED, present=set(), pull_seconds=0.4), until_admission=False, pulled=pulled
    )
    assert set(pulled) == {"app:2", "postgres:15"} and all(seconds >= 0.4 for seconds in pulled.values())
    assert deployment.deploy_seconds < 0.4, (deployment.deploy_seconds, pulled)


def test_never_pulls_and_finds_the_images_the_runner_preloaded(tmp_path):
    swarm = PullingSwarm(MERGED, present={"app:2", "postgres:15"})
    assert deploy(tmp_path, swarm, pull="never")[0] == []
    assert swarm.pulled == [] and swarm.asked == ["app:2", "postgres:15"]


@pytest.mark.parametrize(("ini", "recipe", "who"), [("never", None, "ini ccci_pull"), ("missing", "never", "its pull")])
def test_under_never_a_missing_image_is_the_runners_trouble_before_admission(tmp_path, ini, recipe, who):
    swarm = PullingSwarm(MERGED, present={"postgres:15"})
    with pytest.raises(InfraError, match=rf"image app:2 is not on this runner's engine, and {who} says never"):
        deploy(tmp_path, swarm, pull=ini, recipe_pull=recipe)
    assert swarm.pulled == []


def test_a_deploy_the_policy_refuses_pulls_nothing(tmp_path):
    refused = {"services": {"app": {"image": "app:2", "ports": ["8080:80"]}}}
    swarm = PullingSwarm(refused, present=set())
    with pytest.raises(RecipeError, match="published-ports"):
        deploy(tmp_path, swarm)
    assert swarm.asked == [] and swarm.pulled == []  # the policy came first
    allowed = DeployPolicy((Allowance("published-ports", "app", "reviewed"),))
    deploy(tmp_path / "allowed", swarm, policy=allowed)
    assert swarm.pulled == ["app:2"]


def test_a_failed_pull_stops_the_deploy_before_admission_keeping_earlier_pulls(tmp_path):
    class FailingSecond(PullingSwarm):
        def pull(self, image, on_event, silence=None):
            if image == "postgres:15":
                raise pull_failed(image, "manifest unknown")
            super().pull(image, on_event, silence)

    pulled: dict[str, float] = {}
    with pytest.raises(RecipeError, match="image postgres:15 cannot be pulled: manifest unknown"):
        deploy(tmp_path, FailingSecond(MERGED, present=set()), pulled=pulled)
    assert list(pulled) == ["app:2"]  # what was pulled is still recorded
