"""The app under test: a recipe at a commit, with its domain and stack name. Pure values, no engine.

Its secrets (the vault, masks, fingerprints) are in model/secrets.py."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_ccci.model import naming
from pytest_ccci.model.settings import Settings


@dataclass(frozen=True)
class App:
    """One app under test: a recipe at a commit, on its own domain and stack."""

    recipe: str
    domain: str
    stack: str
    run_id: str
    settings: Settings

    @classmethod
    def for_checkout(cls, settings: Settings, head_sha: str, base_domain: str, run_id: str) -> App:
        domain = naming.app_domain(settings.name, head_sha, base_domain)
        return cls(settings.name, domain, naming.stack_name(domain), run_id, settings)

    @property
    def label_filter(self) -> str:
        return f"{naming.LABEL_DOMAIN}={self.domain}"
