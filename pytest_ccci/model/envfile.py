"""A recipe's `.env.sample`, read the way real recipes write it, and compose-style interpolation.

Active assignments make the env; commented-out ones (`# NAME=value # length=48`) are kept apart,
never active, for their modifiers. A SECRET_<NAME>_VERSION line's modifiers (`length`, `charset`,
`generate`) become a SecretSpec; a bad value is a RecipeError naming the file and line.

Pure text handling: no docker, no os.environ (a CI run must not depend on the host's environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ccci.errors import RecipeError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"(?:export\s+)?([^=\s]*)\s*=(.*)")
_SECRET = re.compile(r"SECRET_(.+)_VERSION")
_COMMENTED = re.compile(r"#+\s*(.*)")
_BRACE_TOKEN = re.compile(r"\$\$|\$\{|\}")
_DEFAULT_SECRET_LENGTH = 32
# The charsets abra's secret generation knows (`# charset=...` on a SECRET_*_VERSION line).
SECRET_CHARSETS = ("default", "special-chars")
_SECRET_MODIFIERS = ("length", "charset", "generate")
_DOUBLE_QUOTE_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$$"}  # "$$" survives interpolation as "$"
# What one interpolated value may expand to, in characters: the size bound of a whole recipe text
# file (model/view.py MAX_TEXT_BYTES). Lines that double an earlier variable reach gigabytes in a
# few hundred bytes of .env.sample; the bound is checked as the value grows, never after.
MAX_VALUE_CHARS = 1 << 20
# What one interpolated compose document may expand to, in characters, counting every reference
# to a shared (aliased) value: the interpolated document is written out and copied per reference
# (YAML dump, docker's CLI). Real compose files are a few kB; 16 values at the value bound is far
# past any recipe yet small enough for the runner's memory.
MAX_TREE_CHARS = 16 << 20
# How deep a compose document and a `${VAR:-${...}}` default may nest: real compose files nest
# under 15 levels and defaults under 3. The bounds keep the walks well inside Python's recursion limit.
MAX_TREE_DEPTH = 200
MAX_INTERPOLATION_DEPTH = 10  # each level slices its default out of the text: few copies of a value


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    modifiers: dict[str, str]  # inline "# length=64 charset=special-chars" -> {"length": "64", ...}
    line: int


@dataclass(frozen=True)
class SecretSpec:
    """A secret to generate, with the modifiers of its SECRET_<NAME>_VERSION line."""

    name: str  # SECRET_DB_PASSWORD_VERSION -> "db_password"
    version: str
    length: int = _DEFAULT_SECRET_LENGTH
    charset: str = "default"  # one of SECRET_CHARSETS
    # generate=false: abra leaves the value to the operator. A CI run has none, so it is
    # generated all the same; the spec keeps the flag so results can say so.
    generate: bool = True
    swarm_name: str = ""  # the name the stack deploy expects ("" where no compose config was read)
    unknown_modifiers: tuple[str, ...] = ()  # "lenght=64": abra ignores such words; kept visible


@dataclass(frozen=True)
class EnvSample:
    vars: dict[str, EnvVar]  # active (uncommented) assignments; last one wins
    origin: str = ".env.sample"
    # Commented-out assignments ("# SECRET_SMTP_PASSWORD_VERSION=v1 # length=48"), last one wins:
    # never active, but an operator who enables one keeps its modifiers.
    commented: dict[str, EnvVar] = field(default_factory=dict)

    def declaration(self, name: str) -> EnvVar | None:
        """The line that declares `name`: the active assignment, else a commented-out one."""
        return self.vars.get(name) or self.commented.get(name)

    def values(self) -> dict[str, str]:
        return {name: var.value for name, var in self.vars.items()}

    @property
    def compose_files(self) -> list[str]:
        return compose_file_names(self.values())

    @property
    def secrets(self) -> list[SecretSpec]:
        """The secrets the active SECRET_*_VERSION lines declare (no swarm name: no config read)."""
        return [secret_spec(var, self.origin) for var in self.vars.values() if _SECRET.fullmatch(var.name)]


def compose_file_names(env: Mapping[str, str]) -> list[str]:
    """The compose files an env's COMPOSE_FILE names, in order; compose.yml when it names none.

    Cumulative "$COMPOSE_FILE:x.yml" lines are already expanded by then; an unset previous value
    expands to "" like docker compose, so empty parts are dropped, and parts are stripped."""
    parts = (part.strip() for part in env.get("COMPOSE_FILE", "").split(":"))
    return [part for part in parts if part] or ["compose.yml"]


def secret_version_var(key: str) -> str:
    """The env variable holding a compose secret's version: db_password -> SECRET_DB_PASSWORD_VERSION."""
    return f"SECRET_{key.upper()}_VERSION"


def secret_spec(var: EnvVar, origin: str, *, version: str | None = None, swarm_name: str = "") -> SecretSpec:
    """The SecretSpec a SECRET_<NAME>_VERSION line declares; its modifiers read as abra reads them.

    `version` overrides the line's value (the app env's, where the line is a sample's). A bad
    modifier value is a RecipeError naming `origin:line`; an unknown modifier name is kept, not
    refused (abra ignores words it does not know)."""
    where = f"{origin}:{var.line}: {var.name}"
    length = var.modifiers.get("length", str(_DEFAULT_SECRET_LENGTH))
    if not (length.isdigit() and int(length) > 0):
        raise RecipeError(f"{where} has length={length!r}: the length of a secret is a positive integer")
    charset = var.modifiers.get("charset", "default")
    if charset not in SECRET_CHARSETS:
        raise RecipeError(f"{where} has charset={charset!r}: abra knows {', '.join(SECRET_CHARSETS)}")
    generate = var.modifiers.get("generate", "true")
    if generate.lower() not in ("true", "false"):
        raise RecipeError(f"{where} has generate={generate!r}: abra knows true, false")
    return SecretSpec(
        name=_SECRET.fullmatch(var.name).group(1).lower(),  # type: ignore[union-attr]
        version=var.value if version is None else version,
        length=int(length),
        charset=charset,
        generate=generate.lower() == "true",
        swarm_name=swarm_name,
        unknown_modifiers=tuple(f"{k}={v}" for k, v in var.modifiers.items() if k not in _SECRET_MODIFIERS),
    )


def parse_env_sample(text: str, origin: str = ".env.sample") -> EnvSample:
    found: dict[str, EnvVar] = {}
    values: dict[str, str] = {}  # found's values, kept as lines come (rebuilding it per line is quadratic)
    commented: dict[str, EnvVar] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):  # commented-out assignments are not active; their modifiers are kept
            var = _commented_assignment(line, number)
            if var:
                commented.pop(var.name, None)
                commented[var.name] = var
            continue
        if not line:
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if not match or not _NAME.fullmatch(match.group(1)):
            raise RecipeError(f"{origin}:{number}: cannot parse {_excerpt(line)} (expected NAME=value)")
        name = match.group(1)
        value, comment = _split_value(match.group(2), values, f"{origin}:{number}")
        found.pop(name, None)  # re-insert so order follows the winning line
        found[name] = EnvVar(name, value, _modifiers(comment), number)
        values[name] = value
    sample = EnvSample(found, origin, commented)
    _ = sample.secrets  # validate modifiers now, so errors name the file at load time
    return sample


def _commented_assignment(line: str, number: int) -> EnvVar | None:
    """`# NAME=value # modifiers` as an EnvVar (value not expanded); None for a prose comment."""
    match = _ASSIGNMENT.fullmatch(_COMMENTED.fullmatch(line).group(1))  # type: ignore[union-attr]
    if not match or not _NAME.fullmatch(match.group(1)):
        return None
    try:
        value, comment = _split_value(match.group(2), {}, "")
    except RecipeError:  # prose that happens to hold "=": not an assignment
        return None
    return EnvVar(match.group(1), value, _modifiers(comment), number)


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
            raise RecipeError(f"{where}: cannot parse value {_excerpt(rest)}: unterminated single quote")
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
            raise RecipeError(f"{where}: cannot parse value {_excerpt(rest)}: unterminated double quote")
        value = interpolate("".join(chars), earlier, where)
        return value, _trailing_comment(rest[i + 1 :], rest, where)
    comment_start = re.search(r"\s#", raw)  # "#" only starts a comment after whitespace: FOO=a#b is "a#b"
    value, comment = (raw[: comment_start.start()], raw[comment_start.end() :]) if comment_start else (raw, "")
    return interpolate(value.strip(), earlier, where), comment


def _trailing_comment(after: str, rest: str, where: str) -> str:
    after = after.strip()
    if after and not after.startswith("#"):
        raise RecipeError(f"{where}: cannot parse value {_excerpt(rest)}: text after the closing quote")
    return after[1:]


def _modifiers(comment: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in comment.split() if "=" in word)


# --- compose-spec interpolation -------------------------------------------------------------


def interpolate(text: str, env: Mapping[str, str], origin: str = "") -> str:
    """Expand $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?m}, ${VAR?m}, ${VAR:+a}, ${VAR+a}, $$ as compose does.

    RecipeError naming `origin` when the value expands past MAX_VALUE_CHARS or its defaults nest
    past MAX_INTERPOLATION_DEPTH."""
    return _interpolate(text, env, origin, 0)


def _interpolate(text: str, env: Mapping[str, str], origin: str, depth: int) -> str:
    if depth > MAX_INTERPOLATION_DEPTH:
        raise RecipeError(f"{_prefix(origin)}interpolation nested over {MAX_INTERPOLATION_DEPTH} levels deep: refused")
    out: list[str] = []
    size = 0
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            piece, i = text[i:], len(text)
        else:
            nxt = text[dollar + 1 : dollar + 2]
            out.append(text[i:dollar])
            size += dollar - i
            if nxt == "$":
                piece, i = "$", dollar + 2
            elif nxt == "{":
                end = _closing_brace(text, dollar + 2, origin)
                piece, i = _expand_braced(text[dollar + 2 : end], env, origin, depth), end + 1
            elif name := _NAME.match(text, dollar + 1):
                piece, i = env.get(name.group(), ""), name.end()  # unset -> "" (compose behaviour)
            else:  # a lone "$" is literal
                piece, i = "$", dollar + 1
        out.append(piece)
        size += len(piece)
        if size > MAX_VALUE_CHARS:
            raise RecipeError(f"{_prefix(origin)}a value expands past {MAX_VALUE_CHARS >> 10} KiB: refused")
    return "".join(out)


def _closing_brace(text: str, start: int, origin: str) -> int:
    depth = 1
    for token in _BRACE_TOKEN.finditer(text, start):  # "$$" is skipped whole: "$${" opens nothing
        if token.group() == "${":
            depth += 1
        elif token.group() == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    raise RecipeError(f"{_prefix(origin)}invalid interpolation format in {_excerpt(text)}: unclosed '${{'")


def _expand_braced(body: str, env: Mapping[str, str], origin: str, depth: int) -> str:
    name = _NAME.match(body)
    if not name:
        raise RecipeError(f"{_prefix(origin)}invalid interpolation format: {_excerpt('${' + body + '}')}")
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
                return value if present else _interpolate(arg, env, origin, depth + 1)
            if op.endswith("+"):
                return _interpolate(arg, env, origin, depth + 1) if present else ""
            if not present:
                message = _interpolate(arg, env, origin, depth + 1)
                raise RecipeError(
                    f"{_prefix(origin)}required variable {var} is unset" + (f": {message}" if message else "")
                )
            return value
    raise RecipeError(f"{_prefix(origin)}invalid interpolation format: {_excerpt('${' + body + '}')}")


def _prefix(origin: str) -> str:
    return f"{origin}: " if origin else ""


def _excerpt(text: str, limit: int = 80) -> str:
    """`text` quoted for a one-line message: its start only, when it is long."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} characters)"


def interpolate_tree(obj: Any, env: Mapping[str, str], origin: str = "") -> Any:
    """Interpolate every string in YAML-loaded data; keys and non-strings are left alone (compose does the same).

    Each shared object (a YAML alias) is interpolated once and shared in the result. RecipeError
    naming `origin` when the result, counting every reference, holds over MAX_TREE_CHARS
    characters, or when it nests over MAX_TREE_DEPTH levels."""
    return _TreeInterpolation(env, origin).result(obj, 0)


class _TreeInterpolation:
    """One interpolate_tree call: what each object became, and the characters produced so far."""

    def __init__(self, env: Mapping[str, str], origin: str) -> None:
        self.env = env
        self.origin = origin
        self.done: dict[int, tuple[Any, int]] = {}  # id(object) -> (its result, the characters it holds)
        self.chars = 0  # characters the result holds so far, every reference to a shared object counted

    def result(self, obj: Any, depth: int) -> Any:
        known = self.done.get(id(obj))
        if known is not None:
            self._charge(known[1])
            return known[0]
        if depth > MAX_TREE_DEPTH:
            raise RecipeError(f"{_prefix(self.origin)}nested too deeply (over {MAX_TREE_DEPTH} levels): refused")
        before = self.chars
        result: Any = obj
        if isinstance(obj, str):
            result = interpolate(obj, self.env, self.origin)
            self._charge(len(result))
        elif isinstance(obj, dict):
            result = {}
            for key, value in obj.items():
                self._charge(len(key) if isinstance(key, str) else 0)
                result[key] = self.result(value, depth + 1)
        elif isinstance(obj, list):
            result = [self.result(item, depth + 1) for item in obj]
        self.done[id(obj)] = (result, self.chars - before)
        return result

    def _charge(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_TREE_CHARS:
            raise RecipeError(
                f"{_prefix(self.origin)}interpolated, it expands past {MAX_TREE_CHARS >> 20} MiB: refused"
            )
