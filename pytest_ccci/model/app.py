"""The app under test: a recipe at a commit, with its domain and stack name, and the two ways
abra deploys it (`DeployMode`). Pure values, no engine.

Its secrets (the vault, masks, fingerprints) are in model/secrets.py."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pytest_ccci.model import naming
from pytest_ccci.model.settings import Settings

# Seconds a command in an app's task (a request, a file read, a hook) may take when its caller
# names no bound, before it counts as hung and is killed: long for a probe, short next to a
# deploy. The one default of every exec, from the `app` fixture down to the swarm facade.
EXEC_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class App:
    """One app under test: a recipe at a commit, on its own domain and stack."""

    recipe: str
    domain: str
    stack: str
    run_id: str
    settings: Settings

    @classmethod
    def for_checkout(cls, settings: Settings, head_sha: str, base_domain: str, run_id: str, variant: str = "") -> App:
        """`variant`: naming.app_domain's, for a lifecycle that needs a domain of its own."""
        domain = naming.app_domain(settings.name, head_sha, base_domain, variant)
        return cls(settings.name, domain, naming.stack_name(domain), run_id, settings)

    @property
    def label_filter(self) -> str:
        return f"{naming.LABEL_DOMAIN}={self.domain}"


class DeployMode(str, Enum):
    """How a checkout is deployed, as abra does it: a release (its version label) or chaos (the
    head as it is, stamped with its chaos-version). Its value is what reports and file names show."""

    CHAOS = "chaos"
    RELEASE = "release"
