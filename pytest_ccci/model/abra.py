"""abra's deploy behaviours, as pure functions.

Each function takes the merged compose config as `docker stack config` prints it (a dict:
`services.<name>.environment` a mapping NAME -> value or None, `deploy.labels` a mapping; the
list forms a compose file allows are read too) and the app's resolved env (dict[str, str]), and
returns a new value: the input is never changed. Each docstring names the abra behaviour it
mirrors (abra's Go functions, as the abra source names them) and says what could not be confirmed
from public material: abra's source was not at hand when these were written, so those points
follow the Co-op Cloud docs and how abra is known to behave, and say so.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from pytest_ccci.errors import RecipeError
from pytest_ccci.model import compose
from pytest_ccci.model.envfile import EnvSample, EnvVar, SecretSpec, parse_env_sample, secret_spec, secret_version_var
from pytest_ccci.model.naming import MAX_SECRET_NAME_LENGTH

APP_SERVICE = "app"  # the service abra stamps and exposes the env to
AUTO_UPDATE_VAR = "ENABLE_AUTO_UPDATE"


def environment_from_env(config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `config` where every service's valueless environment entry (`- NAME` in list
    form, which `docker stack config` with an empty process env prints as `NAME: null`) takes
    the app env's value, as abra's deploy does (abra loads the compose files with the app env
    as the lookup env, so compose's resolveEnvironment fills them from it).

    An entry whose name the env lacks stays `None`, as compose and abra leave it: `docker stack
    deploy` passes it to the engine as a bare `NAME`, which the engine reads as "unset NAME"
    (it removes an ENV of that name the image sets), while dropping the entry would keep the
    image's value. Entries with a value, even "", are left alone. Every service, not only app."""
    out = copy.deepcopy(dict(config))
    for service in (out.get("services") or {}).values():
        if service and "environment" in service:
            environment = environment_mapping(service["environment"])
            service["environment"] = {
                name: env.get(name) if value is None else value for name, value in environment.items()
            }
    return out


def expose_all_env(config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `config` where the `app` service's environment gains every app env variable it
    does not set (abra's ExposeAllEnv): entries it sets win, a valueless one takes the env's
    value (abra fills those at load time, before ExposeAllEnv runs). Only the `app` service;
    a config without one is returned unchanged."""
    out = copy.deepcopy(dict(config))
    app = (out.get("services") or {}).get(APP_SERVICE)
    if app is None:
        return out
    environment = environment_mapping(app.get("environment"))
    for name, value in env.items():
        if environment.get(name) is None:
            environment[name] = value
    app["environment"] = environment
    return out


def environment_mapping(raw: Any) -> dict[str, str | None]:
    """A service's `environment` as a mapping: the list form's `NAME=value` and bare `NAME`
    (None: no value) read as compose reads them; None gives {}."""
    if isinstance(raw, Mapping):
        return {str(name): None if value is None else _env_value(value) for name, value in raw.items()}
    mapping: dict[str, str | None] = {}
    for entry in raw or ():
        name, sep, value = str(entry).partition("=")
        mapping[name] = value if sep else None
    return mapping


def _env_value(value: Any) -> str:
    # YAML makes an unquoted `true` a bool and `8080` an int; compose passes them as strings.
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def timeout_label(config: Mapping[str, Any], stack: str) -> int | None:
    """The deadline in seconds the app service's `coop-cloud.<stack>.timeout` deploy label sets
    for the deploy's convergence (abra's GetTimeoutFromLabel); None without the label (abra then
    waits its default). Read after interpolation: `${TIMEOUT:-300}` arrives as "300". A value
    that is not a positive integer is a RecipeError (abra fails on a value Go's Atoi refuses; its
    handling of 0 or a negative number could not be confirmed: both are refused here)."""
    app = (config.get("services") or {}).get(APP_SERVICE)
    label = f"coop-cloud.{stack}.timeout"
    value = compose.service_labels(app).get(label)
    if value is None:
        return None
    if not (value.strip().isdigit() and int(value) > 0):
        raise RecipeError(f"app service label {label}={value!r}: the timeout is a positive number of seconds")
    return int(value)


def auto_update(env: Mapping[str, str]) -> str:
    """The value of abra's autoupdate label: the app env's ENABLE_AUTO_UPDATE as is, "false"
    where unset (abra's SetUpdateLabel); naming.deploy_labels stamps it."""
    return env.get(AUTO_UPDATE_VAR, "false")


def secrets_to_generate(
    config: Mapping[str, Any], env: Mapping[str, str], sample: EnvSample | str, stack: str
) -> list[SecretSpec]:
    """The secrets abra generates for a deploy (abra's secret.ReadSecretsConfig), in config order.

    One per top-level secret of the merged config that the swarm must already hold (`external`;
    catalogue recipes declare every secret so, `name: ${STACK_NAME}_<key>_${SECRET_<KEY>_VERSION}`)
    and some service uses: abra skips a declared secret no service uses ("not enabled"), and
    `docker stack deploy` creates `file:`/`environment:` secrets itself. Its version is the app
    env's SECRET_<KEY>_VERSION (unset or empty: a RecipeError naming both; abra reads the version
    from the name's suffix and fails on a name ending in "_", the same case), its swarm name the
    compose `name:` (compose.swarm_name), at most MAX_SECRET_NAME_LENGTH characters as docker
    requires. Its modifiers are those of the variable's line in `.env.sample`: the active one,
    else a commented-out one (an operator who enables `# SECRET_X_VERSION=v1 # length=48` keeps
    its modifiers); neither: the defaults. The "not enabled" skip is abra's behaviour as known
    from use, not confirmed from its source."""
    sample = parse_env_sample(sample) if isinstance(sample, str) else sample
    used = _used_secrets(config)
    specs = []
    for key, spec in (config.get("secrets") or {}).items():
        if not (spec or {}).get("external") or key not in used:
            continue
        swarm_name = compose.swarm_name(key, spec, stack)
        version_var = secret_version_var(str(key))
        version = env.get(version_var, "")
        if not version:
            raise RecipeError(f"secret {key} ({swarm_name}) has no version: {version_var} is not set in the app env")
        if len(swarm_name) > MAX_SECRET_NAME_LENGTH:
            raise RecipeError(
                f"secret {key}: its name {swarm_name} is {len(swarm_name)} characters, "
                f"docker allows {MAX_SECRET_NAME_LENGTH} (a shorter domain or secret name fixes it)"
            )
        line = sample.declaration(version_var) or EnvVar(version_var, version, {}, 0)
        found = secret_spec(line, sample.origin, version=version, swarm_name=swarm_name)
        specs.append(dataclasses.replace(found, name=str(key)))
    return specs


def _used_secrets(config: Mapping[str, Any]) -> set[str]:
    """The secret keys some service uses (`- key` or `- source: key`)."""
    used = set()
    for service in (config.get("services") or {}).values():
        for entry in (service or {}).get("secrets") or ():
            used.add(str(entry.get("source") if isinstance(entry, Mapping) else entry))
    return used
