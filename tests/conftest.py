"""Shared fixtures: the real data folder (`$FOURFOLD_DATA`, set by CI to ../shared/data); slow tests first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def shared_data() -> Path:
    """The folder of real data sets; tests that need it skip with a reason where it is absent."""
    root = os.environ.get("FOURFOLD_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("needs real data: set FOURFOLD_DATA to the shared data folder (CI sets it to ../shared/data)")
    return Path(root)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the `slow` tests (minutes each) first, keeping the order otherwise: with `make test`'s pytest-xdist
    workers taking tests a few at a time (`--maxschedchunk`), the long ones start at once and the short ones fill in
    around them, so the workers finish together instead of one waiting on a long test handed out last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
