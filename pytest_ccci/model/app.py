"""The app under test and its generated secrets: pure values, no engine."""

from __future__ import annotations

import secrets as _random
import string
from dataclasses import dataclass
from typing import Iterable

from pytest_ccci.model import naming
from pytest_ccci.model.envfile import SecretSpec
from pytest_ccci.model.settings import Settings

_CHARSETS = {
    "default": string.ascii_letters + string.digits,
    "safe": string.ascii_letters + string.digits,
    "special-chars": string.ascii_letters + string.digits + "!#%&*+,-.:;<=>?@^_~",
}


@dataclass(frozen=True)
class App:
    """One app under test: a recipe at a commit, on its own domain and stack."""

    recipe: str
    domain: str
    stack: str
    run_id: str
    settings: Settings

    @classmethod
    def for_checkout(cls, settings: Settings, head_sha: str, base_domain: str, run_id: str) -> "App":
        domain = naming.app_domain(settings.name, head_sha, base_domain)
        return cls(settings.name, domain, naming.stack_name(domain), run_id, settings)

    @property
    def label_filter(self) -> str:
        return f"{naming.LABEL_DOMAIN}={self.domain}"


class SecretVault:
    """Generated secret values, kept in memory only: needed to scan artifacts for leaks."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def value(self, name: str, spec: SecretSpec) -> str:
        if name not in self._values:
            alphabet = _CHARSETS.get(spec.charset, _CHARSETS["default"])
            self._values[name] = "".join(_random.choice(alphabet) for _ in range(spec.length))
        return self._values[name]

    def __repr__(self) -> str:
        return f"SecretVault({len(self._values)} values)"

    def values(self) -> list[str]:
        return list(self._values.values())


MASK = "********"


def secret_forms(value: str) -> set[str]:
    """A secret as it may appear in an artifact: as is, and escaped for HTML and XML."""
    import html

    return {value, html.escape(value, quote=True), html.escape(value, quote=False), value.replace('"', "&#34;")}


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (in any of its forms) replaced by a mask; longest first."""
    forms = sorted({f for v in secrets if v for f in secret_forms(v)}, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text
