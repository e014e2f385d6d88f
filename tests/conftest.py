"""Shared fixtures: the real data folder (`$FOURFOLD_DATA`, set by CI to ../shared/data)."""

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
