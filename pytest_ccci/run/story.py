"""The whole story of a failed tier, saved before teardown: for each service of each stack the
lifecycle deployed, its log (bounded, tail kept), its task history and its last update (the
engine's UpdateStatus and the spec diff), as files under the run directory:

    <run dir>/artifacts/<stack>/<item>/<service>.log | .tasks.txt | .update.txt

Every text is masked (model/secrets.py redact, with the secrets the report was masked with)
before it is written. What was written comes back as results.json's Artifact records (absolute
paths; run/results.py makes them relative to results.json's folder).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ccci.documents.results import Artifact
from pytest_ccci.model.secrets import redact
from pytest_ccci.model.story import story_file_names, tasks_table, update_text

if TYPE_CHECKING:  # the engine (docker-py) is imported on first use, not by collection
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.swarm.facade import Swarm

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")


def item_folder(name: str) -> str:
    """A test item's name as a folder name (`test_upgrade[0.1.0+1.35.0]` -> `test_upgrade-0.1.0+1.35.0`)."""
    return _UNSAFE.sub("-", name).strip("-.") or "item"


def save_story(
    swarm: Swarm,
    stacks: Iterable[str],
    root: Path,
    item: str,
    secrets: list[str],
    last: Deployment | None = None,
) -> list[Artifact]:
    """Each service's story, for every stack, written under `root/<stack>/<item>/`; the files
    written. `last`, the run's last deploy, gives the update's specs a rollback made the engine forget."""
    artifacts: list[Artifact] = []
    for stack in sorted(stacks):
        folder = root / stack / item_folder(item)
        for service in swarm.stack_story(stack):
            texts = {
                "log": service.log,
                "tasks": tasks_table(service.tasks),
                "update": update_text(
                    service.update_status, service.spec, service.previous_spec, deployed_specs(last, service.name)
                ),
            }
            folder.mkdir(parents=True, exist_ok=True)
            for kind, file_name in story_file_names(service.name):
                path = folder / file_name
                data = redact(texts[kind], secrets).encode()
                path.write_bytes(data)
                artifacts.append(Artifact(kind, service.name, str(path.absolute()), len(data)))
    return artifacts


def deployed_specs(last: Deployment | None, service: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """(the service's Spec before `last`, just after it), when `last` updated it."""
    if last is None or service not in last.before or service not in last.deployed_specs:
        return None
    return last.before[service].spec, last.deployed_specs[service]
