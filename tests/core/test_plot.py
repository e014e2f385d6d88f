"""Line plots: a real PNG is written; mismatched series are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourfold.core.plot import line_plot


def test_writes_a_png(tmp_path: Path) -> None:
    path = line_plot(
        {"train": ([1, 2, 3], [3.0, 2.0, 1.5]), "val": ([1, 3], [3.1, 1.8])},
        tmp_path / "sub" / "loss.png",
        title="loss",
        xlabel="step",
        ylabel="nats",
        logy=True,
    )
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 2000


def test_mismatched_series_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3 x values but 2 y values"):
        line_plot({"a": ([1, 2, 3], [1.0, 2.0])}, tmp_path / "x.png")
