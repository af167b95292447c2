"""Names derived from (recipe, ref): app domain, stack name, secret names, labels.

Pure functions, so a name seen on the swarm can always be traced back to the run that made it.
"""

from __future__ import annotations

import hashlib

# abra truncates sanitised app names to this length (config.MAX_SANITISED_APP_NAME_LENGTH).
MAX_STACK_NAME_LENGTH = 45
# Docker refuses secret names longer than this.
MAX_SECRET_NAME_LENGTH = 64

# Labels pytest-ccci puts on everything it creates, so nothing can be orphaned unseen.
LABEL_RUN = "ccci.run"
LABEL_DOMAIN = "ccci.domain"
LABEL_RECIPE = "ccci.recipe"
# The lock dir guarding a resource: a janitor only reaps what its own lock dir guards, so runs
# configured with different lock dirs can never mistake each other's live apps for leftovers.
LABEL_LOCKS = "ccci.locks"
# The label swarm puts on each task's container: the service it runs for.
SERVICE_NAME_LABEL = "com.docker.swarm.service.name"


# The upgrade lifecycle's variant: it runs on a domain of its own, beside the install's.
UPGRADE_VARIANT = "up"


def compose_variant(*parts: str) -> str:
    """One lifecycle's variant from its parts, in this order: the upgrade's `up`, then a
    rerun's `r2`... (`up` + `r2` = `upr2`); "" for the recipe's first install lifecycle."""
    return "".join(parts)


def app_domain(recipe: str, head_sha: str, base_domain: str, variant: str = "") -> str:
    """`<first 4 of recipe>-<6 hex>[-<variant>].<base domain>`: stable for one (recipe, commit,
    variant). The variant keeps apart lifecycles of one commit that must never share a domain
    (the upgrade's `up`, a rerun's `r2`): each has its own stack and its own lock."""
    digest = hashlib.sha256(f"{recipe}@{head_sha}".encode()).hexdigest()[:6]
    prefix = "".join(ch for ch in recipe.lower() if ch.isalnum())[:4] or "app"
    suffix = "".join(ch for ch in variant.lower() if ch.isalnum())[:8]
    return f"{prefix}-{digest}{'-' + suffix if suffix else ''}.{base_domain}"


def stack_name(domain: str) -> str:
    """As abra: dots become underscores, then truncated to abra's limit."""
    return domain.replace(".", "_")[:MAX_STACK_NAME_LENGTH]


def service_name(stack: str, service: str) -> str:
    """`<stack>_<service>`: the swarm service `docker stack deploy` makes of a compose service."""
    return f"{stack}_{service}"


def secret_name(stack: str, name: str, version: str) -> str:
    """`${STACK_NAME}_<name>_<version>`, the name recipes give their external secrets."""
    return f"{stack}_{name}_{version}"


def chaos_version(head_sha: str, dirty: bool) -> str:
    """abra's chaos-version stamp: 8 hex of HEAD, `+U` when the worktree has uncommitted changes."""
    return head_sha[:8] + ("+U" if dirty else "")


def deploy_labels(
    stack: str, recipe: str, *, version: str | None, chaos: str | None, auto_update: str = "false"
) -> dict[str, str]:
    """The labels abra stamps on the `app` service.

    A release deploy carries its version; a chaos deploy (a commit, not a tag) carries
    chaos=true and chaos-version, and the version of the newest release it is built on.
    `autoupdate` is the app env's ENABLE_AUTO_UPDATE as is, "false" where unset (abra's
    SetUpdateLabel; model.abra.auto_update reads it from the env).
    """
    labels = {f"coop-cloud.{stack}.recipe": recipe}
    if version:
        labels[f"coop-cloud.{stack}.version"] = version
    labels[f"coop-cloud.{stack}.chaos"] = "true" if chaos else "false"
    if chaos:
        labels[f"coop-cloud.{stack}.chaos-version"] = chaos
    labels[f"coop-cloud.{stack}.autoupdate"] = auto_update
    return labels


def run_labels(run_id: str, domain: str, recipe: str, lock_dir: str = "") -> dict[str, str]:
    labels = {LABEL_RUN: run_id, LABEL_DOMAIN: domain, LABEL_RECIPE: recipe}
    if lock_dir:
        labels[LABEL_LOCKS] = lock_dir
    return labels
