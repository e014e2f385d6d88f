"""The training episodes' returns: what is logged as `charts/episodic_return`, and the last-100 mean that
`--target-return` and Stable-Baselines3's `rollout/ep_rew_mean` watch."""

from __future__ import annotations

from collections import deque
from typing import Any

from fourfold.rl.envs import StepResult

WINDOW = 100
"""Episodes in the running mean (SB3's `stats_window_size`)."""


class EpisodeLog:
    """Collects ended episodes; `metrics()` gives the means since the last call, `recent_mean` the last-100 mean."""

    def __init__(self) -> None:
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.count = 0
        self._returns: list[float] = []
        self._lengths: list[int] = []

    def add(self, result: StepResult) -> None:
        """Record the episodes that ended in one step."""
        if result.episode_returns:
            self._returns.extend(result.episode_returns)
            self._lengths.extend(result.episode_lengths)
            self.recent.extend(result.episode_returns)
            self.count += len(result.episode_returns)

    @property
    def recent_mean(self) -> float | None:
        """Mean return of the last 100 episodes (None before the first ends)."""
        return sum(self.recent) / len(self.recent) if self.recent else None

    def metrics(self) -> dict[str, float]:
        """CleanRL's episode metrics over the episodes since the last call (empty if none ended)."""
        if not self._returns:
            return {}
        metrics = {
            "charts/episodic_return": sum(self._returns) / len(self._returns),
            "charts/episodic_length": sum(self._lengths) / len(self._lengths),
            "charts/episodes": float(self.count),
        }
        self._returns, self._lengths = [], []
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "count": self.count, "returns": self._returns, "lengths": self._lengths}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.recent = deque((float(r) for r in state["recent"]), maxlen=WINDOW)
        self.count = int(state["count"])
        self._returns = [float(r) for r in state["returns"]]
        self._lengths = [int(n) for n in state["lengths"]]
