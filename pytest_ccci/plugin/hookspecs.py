"""Hook specifications pytest-ccci adds (bare specs, implemented by other plugins or conftests)."""

from typing import Any

import pytest


@pytest.hookspec
def pytest_ccci_results(config: pytest.Config, results: dict[str, Any]) -> None:
    """Called on the controller once per run with the results (the results.json document),
    after they are computed and written; interrupted runs included."""
