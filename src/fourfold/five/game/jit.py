"""`compiled(function)`: `numba.njit(cache=True)` for Five's rule kernels, with a cache that notices every rule file.

numba's on-disk cache checks only the source file of the function it compiles, but a rule kernel such as
`rules.step_games` compiles in functions from `combat.py`, `abilities.py`, `orders.py`, `spawn.py`, `fog.py` and
the tables of `constants.py` and `stats.py`: editing one of those would leave a stale kernel in the cache. Kernels
compiled through `compiled` use a cache locator whose stamp is a hash of every `.py` file of this folder, so any
edit here recompiles them. Where this folder's `__pycache__` is not writable numba falls back to its own locators.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba.core import caching

F = TypeVar("F", bound=Callable[..., Any])
_FOLDER = Path(__file__).resolve().parent


@functools.cache
def _rules_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_FOLDER.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RulesCacheLocator(caching.InTreeCacheLocator):
    """numba's in-tree (`__pycache__`) locator, for functions of this folder, stamped with all of its sources."""

    def get_source_stamp(self) -> str:
        return _rules_digest()

    @classmethod
    def from_function(cls, py_func: Callable[..., Any], py_file: str) -> Any:
        if Path(py_file).resolve().parent != _FOLDER:
            return None
        return super().from_function(py_func, py_file)  # type: ignore[no-untyped-call]


def compiled(function: F) -> F:
    """`numba.njit(cache=True)(function)`, cached under a stamp of all of this folder's sources."""
    locators = caching.CacheImpl._locator_classes
    if RulesCacheLocator not in locators:
        locators.insert(0, RulesCacheLocator)
    return numba.njit(cache=True)(function)  # type: ignore[return-value]
