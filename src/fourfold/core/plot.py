"""Line plots to PNG for reports: learning curves of any system (loss against steps, return against time).

matplotlib with the Agg backend, so plots are written without a display; imported only when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def line_plot(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | Path,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = False,
) -> Path:
    """Draw each named (xs, ys) series as a line on one set of axes and save a PNG at `path`.

    Args:
        series: label -> (xs, ys), each pair of equal length.
        path: the PNG to write (folders are created).
        title, xlabel, ylabel: the plot's texts.
        logy: a logarithmic y axis.

    Raises:
        ValueError: a series' xs and ys differ in length.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    try:
        for label, (xs, ys) in series.items():
            if len(xs) != len(ys):
                raise ValueError(f"series {label!r} has {len(xs)} x values but {len(ys)} y values")
            axes.plot(xs, ys, label=label, linewidth=1.6)
        if logy:
            axes.set_yscale("log")
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
        if len(series) > 1:
            axes.legend()
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path
