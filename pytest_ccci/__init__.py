"""pytest-ccci: continuous integration for Co-op Cloud recipes, as a pytest plugin."""

__version__ = "0.1.0"
