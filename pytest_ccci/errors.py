"""Errors that end in one clear line, never a traceback.

Three kinds, because each lands differently:
- UsageError: the command line or the host is wrong; the run stops like a pytest usage error.
- RecipeError: the recipe (its source, ref, files or settings) is wrong; its rung fails, level 0.
- InfraError: the engine misbehaved; the rung is unverified, not failed.
"""


class CcciError(Exception):
    """An error whose message is a complete, one-line explanation."""

    def __str__(self) -> str:
        return " ".join(str(self.args[0]).split()) if self.args else type(self).__name__


class UsageError(CcciError):
    pass


class RecipeError(CcciError):
    pass


class InfraError(CcciError):
    pass
