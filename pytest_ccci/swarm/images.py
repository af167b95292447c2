"""Images on the engine: whether one is here, and pulling one through docker's progress stream.

The runner's own images (model/images.py RUNNER_IMAGES) are never pulled. A pull that fails
ends as the taxonomy says whose problem it is (model/fetch_failures.py): a
RecipeError when the registry does not know the reference, an InfraError when the registry
cannot be reached (or docker's words are ones nobody classified). Both name the image and
carry docker's own words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import docker
import docker.auth
import docker.errors
import docker.utils
import requests
import requests.exceptions
import urllib3.exceptions

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.fetch_failures import REGISTRY_IMAGE
from pytest_ccci.model.images import registry_of, runner_image
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.connection import API_TIMEOUT_SECONDS, reachable


def image_present(api: docker.APIClient, image: str) -> bool:
    """Whether the engine has `image` (by name:tag, name@digest or id). A reference docker
    cannot parse is the recipe's (RecipeError naming it), as `docker stack deploy` would say."""
    try:
        api.inspect_image(image)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code == 400:  # "invalid reference format: repository name must be lowercase"
            raise RecipeError(f"image {image} is not a valid image reference: {one_line(exc.explanation)}") from None
        raise
    return True


# docker-py's own pull reads its stream with no timeout at all, and a registry can go silent
# mid-layer. The pull here is a request this module owns: its read timeout ends a silence (the
# engine sends progress events several times a second while it works), and closing it makes the
# engine cancel the pull (a pull its client left is dropped, not finished in the background).
PULL_SILENCE_SECONDS = 300.0
PULL_TIMEOUT_SECONDS = 1800.0


def pull(
    api: docker.APIClient,
    image: str,
    on_event: Callable[[Mapping[str, Any]], None],
    timeout: float = PULL_TIMEOUT_SECONDS,
    silence: float = PULL_SILENCE_SECONDS,
) -> None:
    """Pull `image`, handing each event of docker's stream to `on_event`. A pull that goes on
    past `timeout` seconds, or says nothing for `silence` seconds, ends as an InfraError, and
    the engine stops it. The runner's own images (model/images.py RUNNER_IMAGES) are never pulled: one
    that is missing is an InfraError saying how to make it."""
    if runner_image(image):
        raise InfraError(
            f"image {image} is the runner's own image and is never pulled: it is missing on this engine "
            "(run scripts/setup-engine.sh to make it)"
        )
    deadline = time.monotonic() + timeout
    with _pull_request(api, image, silence) as response:
        for event in _pull_events(response, image, silence):
            on_event(event)
            if time.monotonic() > deadline:
                raise InfraError(f"image {image}: the pull took over {timeout:g}s")


def _pull_request(api: docker.APIClient, image: str, silence: float) -> requests.Response:
    """The engine's answer to `POST /images/create` (what docker-py's pull sends, credentials
    for the image's registry included), its stream unread."""
    repository, tag = docker.utils.parse_repository_tag(image)
    # The registry by docker's own rule (the engine pulls from it): its credentials, none other's.
    credentials = docker.auth.get_config_header(api, registry_of(image) or docker.auth.INDEX_NAME)
    try:
        response = api.post(
            f"{api.base_url}/v{api.api_version}/images/create",
            params={"fromImage": repository, "tag": tag or "latest"},
            headers={"X-Registry-Auth": credentials} if credentials else {},
            stream=True,
            timeout=(API_TIMEOUT_SECONDS, silence),
        )
    except requests.exceptions.ReadTimeout:
        # The engine answers once the registry gave it the manifest; an engine that answers
        # nothing at all is the engine's trouble, said as such.
        if not reachable(api):
            raise InfraError(f"the Docker engine stopped answering while pulling image {image}") from None
        raise stalled(image, silence) from None
    if response.status_code >= 400:
        with response:
            raise pull_failed(image, _engine_message(response))
    return response


def _pull_events(response: requests.Response, image: str, silence: float) -> Iterator[dict[str, Any]]:
    """docker's pull stream, an event a line; an error event raises, classified."""
    try:
        for line in response.iter_lines():
            event = _event(line, image)
            if event.get("error") or event.get("errorDetail"):
                raise pull_failed(image, str(event.get("error") or (event["errorDetail"] or {}).get("message")))
            if event:
                yield event
    except requests.exceptions.ConnectionError as exc:
        if isinstance(exc.args[0] if exc.args else None, urllib3.exceptions.ReadTimeoutError):
            raise stalled(image, silence) from None
        raise


def _event(line: bytes, image: str) -> dict[str, Any]:
    try:
        event = json.loads(line) if line.strip() else {}
    except ValueError:
        event = None
    if not isinstance(event, dict):
        said = one_line(line.decode(errors="replace"), 120)
        raise InfraError(f"image {image}: the engine's pull stream said {said!r}, not an event")
    return event


def stalled(image: str, silence: float) -> InfraError:
    return InfraError(f"image {image}: the pull said nothing for {silence:g}s (the registry stalled)")


def _engine_message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return response.text or f"HTTP {response.status_code}"


def pull_failed(image: str, docker_words: str) -> RecipeError | InfraError:
    """The error of a failed pull, naming the image, in docker's words."""
    words = one_line(docker_words)
    if REGISTRY_IMAGE.recipes_fault(words):
        return RecipeError(f"image {image} cannot be pulled: {words}")
    return InfraError(f"image {image} could not be pulled on this runner: {words}")
