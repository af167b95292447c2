"""What a runner's operator chose for every deploy on it (ini options), as one frozen record.

A recipe's settings (ccci.yml, model/settings.py) say what the recipe needs; these say how this
runner deploys and what it allows. The plugin builds the record once from the ini file
(plugin/options.py); the run layer hands it to the deployer unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_ccci.model.policy import HostPolicy


@dataclass(frozen=True)
class RunnerChoices:
    endpoint_mode: str = "auto"  # ccci_endpoint_mode: auto | vip | dnsrr (model/endpoints.py)
    pull: str = "missing"  # ccci_pull: missing | never (model/images.py)
    host_policy: HostPolicy = HostPolicy()  # ccci_allow, ccci_networks, the bounds (model/policy.py)


# A runner nobody configured: VIPs where the host routes them, pulls of what is missing, no
# host-wide allowances, the ini's default bounds (pids, stop grace) and infrastructure (`proxy`).
DEFAULT_RUNNER = RunnerChoices()
