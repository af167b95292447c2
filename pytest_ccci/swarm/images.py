"""Images on the engine: whether one is here, and pulling one through docker's progress stream.

A pull that fails ends as the taxonomy says whose problem it is (model/images.py): a
RecipeError when the registry does not know the reference, an InfraError when the registry
cannot be reached (or docker's words are ones nobody classified). Both name the image and
carry docker's own words.
"""

from __future__ import annotations

import queue
import threading
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


# docker-py reads a pull's stream with no timeout at all, and a registry can go silent mid-layer:
# the stream is read in a thread and waited on, and this long without a word from the engine
# ends the pull (the engine sends progress events several times a second while it works).
PULL_SILENCE_SECONDS = 300.0
_END = object()  # the stream ended


def pull(
    api: docker.APIClient,
    image: str,
    timeout: float,
    on_event: Callable[[Mapping[str, Any]], None],
    silence: float = PULL_SILENCE_SECONDS,
) -> None:
    """Pull `image`, handing each event of docker's stream to `on_event`. A pull that goes on
    past `timeout` seconds, or says nothing for `silence` seconds, ends as an InfraError; its
    reading thread is left to end with the engine's own request (it is a daemon thread)."""
    events: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_read_pull, args=(api, image, events), name=f"pull {image}", daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            item = events.get(timeout=max(0.0, min(silence, left)))
        except queue.Empty:
            said = f"took over {timeout:g}s" if left <= silence else f"said nothing for {silence:g}s"
            raise InfraError(f"image {image}: the pull {said} (the registry stalled)") from None
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        on_event(item)


def _read_pull(api: docker.APIClient, image: str, events: queue.Queue[Any]) -> None:
    """docker's pull stream into `events`: each event, then _END or the error that ended it."""
    try:
        for event in api.pull(image, stream=True, decode=True):  # decode: one dict per event
            if event.get("error") or event.get("errorDetail"):
                events.put(pull_failed(image, str(event.get("error") or (event["errorDetail"] or {}).get("message"))))
                return
            events.put(event)
        events.put(_END)
    except docker.errors.APIError as exc:
        events.put(pull_failed(image, str(exc.explanation or exc)))
    except Exception as exc:  # the engine's own failure: the facade's boundary names it
        events.put(exc)


def pull_failed(image: str, docker_words: str) -> RecipeError | InfraError:
    """The error of a failed pull, naming the image, in docker's words."""
    words = one_line(docker_words)
    if pull_failure_is_recipes(words):
        return RecipeError(f"image {image} cannot be pulled: {words}")
    return InfraError(f"image {image} could not be pulled on this runner: {words}")
