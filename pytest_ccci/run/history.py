"""What a run reads of the history of runs (upgrade_from: last-green). The history's one format,
read and written, is documents/history.py's; this module only names it for run/lifecycle.py.
"""

from __future__ import annotations

from pytest_ccci.documents.history import RecipeHistory as RecipeHistory
from pytest_ccci.documents.history import last_green_release as last_green_release
