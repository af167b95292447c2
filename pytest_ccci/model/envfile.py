"""A recipe's `.env.sample`, read the way real recipes write it, and compose-style interpolation.

Pure text handling: no docker, no os.environ (a CI run must not depend on the host's environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_ccci.errors import RecipeError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"(?:export\s+)?([^=\s]*)\s*=(.*)")
_SECRET = re.compile(r"SECRET_(.+)_VERSION")
_DEFAULT_SECRET_LENGTH = 32
_DOUBLE_QUOTE_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$$"}  # "$$" survives interpolation as "$"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    modifiers: dict[str, str]  # inline "# length=64 charset=special-chars" -> {"length": "64", ...}
    line: int


@dataclass(frozen=True)
class SecretSpec:
    name: str  # SECRET_DB_PASSWORD_VERSION -> "db_password"
    version: str
    length: int
    charset: str


@dataclass(frozen=True)
class EnvSample:
    vars: dict[str, EnvVar]  # active (uncommented) assignments; last one wins
    origin: str = ".env.sample"

    def values(self) -> dict[str, str]:
        return {name: var.value for name, var in self.vars.items()}

    @property
    def compose_files(self) -> list[str]:
        return compose_file_names(self.values())

    @property
    def secrets(self) -> list[SecretSpec]:
        return [_secret_spec(var, self.origin) for var in self.vars.values() if _SECRET.fullmatch(var.name)]


def compose_file_names(env: Mapping[str, str]) -> list[str]:
    """The compose files an env's COMPOSE_FILE names, in order; compose.yml when it names none.

    Cumulative "$COMPOSE_FILE:x.yml" lines are already expanded by then; an unset previous value
    expands to "" like docker compose, so empty parts are dropped, and parts are stripped."""
    parts = (part.strip() for part in env.get("COMPOSE_FILE", "").split(":"))
    return [part for part in parts if part] or ["compose.yml"]


def _secret_spec(var: EnvVar, origin: str) -> SecretSpec:
    length = var.modifiers.get("length", str(_DEFAULT_SECRET_LENGTH))
    if not length.isdigit():
        raise RecipeError(f"{origin}:{var.line}: {var.name} has a non-numeric length modifier {length!r}")
    return SecretSpec(
        name=_SECRET.fullmatch(var.name).group(1).lower(),  # type: ignore[union-attr]
        version=var.value,
        length=int(length),
        charset=var.modifiers.get("charset", "default"),
        # No `generate`: abra's generate=false leaves the value to an operator, and a CI run has
        # none, so every declared secret is generated (the recipe could not deploy otherwise).
    )


def parse_env_sample(text: str, origin: str = ".env.sample") -> EnvSample:
    found: dict[str, EnvVar] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):  # commented-out assignments are not active
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if not match or not _NAME.fullmatch(match.group(1)):
            raise RecipeError(f"{origin}:{number}: cannot parse {line!r} (expected NAME=value)")
        name = match.group(1)
        earlier = {n: v.value for n, v in found.items()}
        value, comment = _split_value(match.group(2), earlier, f"{origin}:{number}")
        found.pop(name, None)  # re-insert so order follows the winning line
        found[name] = EnvVar(name, value, _modifiers(comment), number)
    sample = EnvSample(found, origin)
    _ = sample.secrets  # validate modifiers now, so errors name the file at load time
    return sample


def load_env_sample(path: Path) -> EnvSample:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: missing (every recipe needs a .env.sample)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read: {exc}") from None
    return parse_env_sample(text, str(path))


def _split_value(raw: str, earlier: Mapping[str, str], where: str) -> tuple[str, str]:
    """(value, inline comment) for the text after '='; expands earlier variables except in single quotes."""
    rest = raw.lstrip()
    if rest[:1] == "'":
        end = rest.find("'", 1)
        if end < 0:
            raise RecipeError(f"{where}: cannot parse value {rest!r}: unterminated single quote")
        return rest[1:end], _trailing_comment(rest[end + 1 :], rest, where)
    if rest[:1] == '"':
        chars: list[str] = []
        i = 1
        while i < len(rest) and rest[i] != '"':
            if rest[i] == "\\" and i + 1 < len(rest):
                chars.append(_DOUBLE_QUOTE_ESCAPES.get(rest[i + 1], "\\" + rest[i + 1]))
                i += 2
            else:
                chars.append(rest[i])
                i += 1
        if i >= len(rest):
            raise RecipeError(f"{where}: cannot parse value {rest!r}: unterminated double quote")
        value = interpolate("".join(chars), earlier, where)
        return value, _trailing_comment(rest[i + 1 :], rest, where)
    comment_start = re.search(r"\s#", raw)  # "#" only starts a comment after whitespace: FOO=a#b is "a#b"
    value, comment = (raw[: comment_start.start()], raw[comment_start.end() :]) if comment_start else (raw, "")
    return interpolate(value.strip(), earlier, where), comment


def _trailing_comment(after: str, rest: str, where: str) -> str:
    after = after.strip()
    if after and not after.startswith("#"):
        raise RecipeError(f"{where}: cannot parse value {rest!r}: text after the closing quote")
    return after[1:]


def _modifiers(comment: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in comment.split() if "=" in word)


# --- compose-spec interpolation -------------------------------------------------------------


def interpolate(text: str, env: Mapping[str, str], origin: str = "") -> str:
    """Expand $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?m}, ${VAR?m}, ${VAR:+a}, ${VAR+a}, $$ as compose does."""
    out: list[str] = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            i = dollar + 2
        elif nxt == "{":
            end = _closing_brace(text, dollar + 2, origin)
            out.append(_expand_braced(text[dollar + 2 : end], env, origin))
            i = end + 1
        elif name := _NAME.match(text, dollar + 1):
            out.append(env.get(name.group(), ""))  # unset -> "" (compose behaviour)
            i = name.end()
        else:  # a lone "$" is literal
            out.append("$")
            i = dollar + 1
    return "".join(out)


def _closing_brace(text: str, start: int, origin: str) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise RecipeError(f"{_prefix(origin)}invalid interpolation format in {text!r}: unclosed '${{'")


def _expand_braced(body: str, env: Mapping[str, str], origin: str) -> str:
    name = _NAME.match(body)
    if not name:
        raise RecipeError(f"{_prefix(origin)}invalid interpolation format: '${{{body}}}'")
    var, rest = name.group(), body[name.end() :]
    is_set = var in env
    value = env.get(var, "")
    if not rest:
        return value
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            # the colon forms treat an empty value like an unset one
            present = bool(value) if op.startswith(":") else is_set
            if op.endswith("-"):
                return value if present else interpolate(arg, env, origin)
            if op.endswith("+"):
                return interpolate(arg, env, origin) if present else ""
            if not present:
                message = interpolate(arg, env, origin)
                raise RecipeError(
                    f"{_prefix(origin)}required variable {var} is unset" + (f": {message}" if message else "")
                )
            return value
    raise RecipeError(f"{_prefix(origin)}invalid interpolation format: '${{{body}}}'")


def _prefix(origin: str) -> str:
    return f"{origin}: " if origin else ""


def interpolate_tree(obj: Any, env: Mapping[str, str], origin: str = "") -> Any:
    """Interpolate every string in YAML-loaded data; keys and non-strings are left alone (compose does the same)."""
    if isinstance(obj, str):
        return interpolate(obj, env, origin)
    if isinstance(obj, dict):
        return {key: interpolate_tree(value, env, origin) for key, value in obj.items()}
    if isinstance(obj, list):
        return [interpolate_tree(item, env, origin) for item in obj]
    return obj
