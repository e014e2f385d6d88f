"""The error Five's native API reports for an invalid action (a wrong configuration is a core `ConfigError`).

It is a `FourfoldError`, so the command line prints its one-sentence message instead of a traceback.
"""

from __future__ import annotations

from fourfold.core.errors import FourfoldError


class InvalidActionError(FourfoldError):
    """An action of the native batched API that the rules do not allow (names the game, the hero and why)."""
