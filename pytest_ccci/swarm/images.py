"""Images on the engine: whether one is here, and pulling one through docker's progress stream.

A pull that fails ends as the taxonomy says whose problem it is (model/images.py): a
RecipeError when the registry does not know the reference, an InfraError when the registry
cannot be reached (or docker's words are ones nobody classified). Both name the image and
carry docker's own words.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import docker
import docker.errors

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.images import pull_failure_is_recipes
from pytest_ccci.model.text import one_line


def image_present(api: docker.APIClient, image: str) -> bool:
    """Whether the engine has `image` (by name:tag, name@digest or id). A reference docker
    cannot parse is the recipe's (RecipeError naming it), as `docker stack deploy` would say."""
    try:
        api.inspect_image(image)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code == 400:  # "invalid reference format: repository name must be lowercase"
            raise pull_failed(image, str(exc.explanation or exc)) from None
        raise
    return True


def pull(api: docker.APIClient, image: str, timeout: float, on_event: Callable[[Mapping[str, Any]], None]) -> None:
    """Pull `image`, handing each event of docker's stream to `on_event`; bounded by `timeout`
    seconds (dropping the stream makes the daemon cancel the pull)."""
    deadline = time.monotonic() + timeout
    try:
        # decode=True: one dict per event; docker-py puts no read timeout on this request.
        for event in api.pull(image, stream=True, decode=True):
            if event.get("error") or event.get("errorDetail"):
                raise pull_failed(image, str(event.get("error") or (event["errorDetail"] or {}).get("message")))
            on_event(event)
            if time.monotonic() > deadline:
                raise InfraError(f"image {image}: the pull took over {timeout:.0f}s")
    except docker.errors.APIError as exc:
        raise pull_failed(image, str(exc.explanation or exc)) from None


def pull_failed(image: str, docker_words: str) -> RecipeError | InfraError:
    """The error of a failed pull, naming the image, in docker's words."""
    words = one_line(docker_words)
    if pull_failure_is_recipes(words):
        return RecipeError(f"image {image} cannot be pulled: {words}")
    return InfraError(f"image {image} could not be pulled on this runner: {words}")
