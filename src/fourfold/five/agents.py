"""Agents: anything that plays one team of a batch of Five games, scripted bots and trained policies alike.

OpenAI Five rated its agents by playing them against each other and a fixed reference pool (Berner et al. 2019,
"Dota 2 with Large Scale Deep Reinforcement Learning", section 4 and Appendix J); matches (`match.py`), ratings
(`ratings.py`), evaluation and the ladder need one way to ask any player for its actions. That is `Agent`:

- `reset(num_games)` before a batch of games starts (recurrent state and memories are forgotten);
- `act(env, team)` -> core-level actions (primary, target unit slot, world point) for `team`'s five hero slots of
  every game, ((G, 5), (G, 5), (G, 5, 2)), reading `env.obs` / `env.state` (the env's current observation), so
  the caller can mix two agents' actions into one `env.step_core`;
- `observe_done(done)` after a step, to forget the recurrent state of games that ended.

`BotAgent` wraps a scripted bot (`bots.make_bot`); `PolicyAgent` a trained `FivePolicy` (`policy.load_policy`),
sampling (or, deterministic, taking the argmax of) its factored actions on its team's observation and decoding them
with `env.decode`. `agent_from_spec(spec)` builds either from what a person types: a bot name, a checkpoint folder
or a run folder (its newest checkpoint).

Shape legend: G games, H = 5 hero slots of one team, K heroes a team fields (<= 5), S state size.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from fourfold.core.errors import FourfoldError
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HEROES_PER_TEAM

if TYPE_CHECKING:  # torch is imported where a policy is used, so bot-only matches stay torch-free
    import torch

    from fourfold.five.env import FiveVecEnv
    from fourfold.five.policy import FivePolicy

Actions = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]
"""Core-level actions of one team: primary (G, 5), target unit slot or -1 (G, 5), world point (G, 5, 2)."""

CHECKPOINT_MANIFEST = "checkpoint.json"


class AgentSpecError(FourfoldError):
    """An agent spec names neither a scripted bot nor a checkpoint or run folder."""


class Agent(Protocol):
    """A player of one team in a batch of Five games (see the module docstring)."""

    name: str

    def reset(self, num_games: int) -> None:
        """Forget everything about earlier games: `num_games` new games start."""
        ...

    def act(self, env: FiveVecEnv, team: int) -> Actions:
        """Core-level actions for `team`'s (0 blue, 1 red) five hero slots of every game of `env`."""
        ...

    def observe_done(self, done: NDArray[np.bool_]) -> None:
        """(G,) games that ended in the last step: their recurrent state starts afresh."""
        ...


class BotAgent:
    """A scripted bot (`bots.py`) as an `Agent`; it reads `env.state` (the bots see through the fog's rules)."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self.seed = int(seed)
        self._bot = make_bot(name, self.seed)

    def __repr__(self) -> str:
        return f"BotAgent({self.name!r}, seed={self.seed})"

    def reset(self, num_games: int) -> None:
        self._bot = make_bot(self.name, self.seed)  # a fresh bot: no memory of retreats or fallen towers

    def act(self, env: FiveVecEnv, team: int) -> Actions:
        return self._bot.act(env.state, slice(None), team)

    def observe_done(self, done: NDArray[np.bool_]) -> None:
        return None  # the bot notices a reset game by its tick going back


class PolicyAgent:
    """A trained `FivePolicy` as an `Agent`: one recurrent state per team it plays, sampled or greedy actions."""

    def __init__(
        self,
        source: str | Path | FivePolicy,
        deterministic: bool = False,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        """Args:
        source: a checkpoint folder (`policy.load_policy`) or a policy object.
        deterministic: take each head's most likely action instead of sampling.
        seed: seed of the sampling stream.
        name: how tables call it (default: the checkpoint folder, or "policy").
        """
        import torch

        from fourfold.five.policy import FivePolicy, load_policy

        if isinstance(source, FivePolicy):
            self.policy = source
            self.name = name or "policy"
        else:
            self.policy, _ = load_policy(source)
            self.name = name or str(source)
        self.policy.eval()
        self.deterministic = deterministic
        self.seed = int(seed)
        self._generator = torch.Generator().manual_seed(self.seed)
        self._state: dict[int, torch.Tensor] = {}  # team -> (G, K, S)
        self._starts: dict[int, NDArray[np.bool_]] = {}  # team -> (G,)
        self._num_games = 0

    def __repr__(self) -> str:
        return f"PolicyAgent({self.name!r}, deterministic={self.deterministic}, seed={self.seed})"

    def reset(self, num_games: int) -> None:
        self._num_games = num_games
        self._state = {}
        self._starts = {}
        self._generator.manual_seed(self.seed)

    def act(self, env: FiveVecEnv, team: int) -> Actions:
        import torch

        from fourfold.five.env import observation_dict
        from fourfold.five.policy import team_observation

        g = env.num_games
        k = env.config.heroes_per_team
        if g != self._num_games:
            self.reset(g)
        if team not in self._state:
            self._state[team] = self.policy.initial_state(g, k)
            self._starts[team] = np.ones(g, dtype=bool)
        games = np.arange(g, dtype=np.int64)
        teams = np.full(g, team, dtype=np.int64)
        obs = team_observation(observation_dict(env.obs, copy=False), games, teams, k)  # (G, K, ...) each
        with torch.inference_mode():  # ~20 % faster than no_grad; an agent's tensors never meet autograd
            sample = self.policy.act(
                obs, self._state[team], self._starts[team], deterministic=self.deterministic, generator=self._generator
            )
        self._state[team] = sample.state
        self._starts[team] = np.zeros(g, dtype=bool)
        # The team's K heroes into the (G, 10) team-frame actions; the other slots noop, then decode all at once.
        first = team * HEROES_PER_TEAM
        primary = np.zeros((g, 2 * HEROES_PER_TEAM), dtype=np.int64)  # (G, 10)
        target = np.zeros((g, 2 * HEROES_PER_TEAM), dtype=np.int64)  # (G, 10)
        offset = np.zeros((g, 2 * HEROES_PER_TEAM), dtype=np.int64)  # (G, 10)
        primary[:, first : first + k] = sample.primary
        target[:, first : first + k] = sample.target_index
        offset[:, first : first + k] = sample.offset_index
        # The policy never samples a masked action; legalize only guards games already over (all-noop masks).
        core_primary, core_target, core_point = env.decode(*env.legalize(primary, target, offset))
        team_slots = slice(first, first + HEROES_PER_TEAM)
        return core_primary[:, team_slots], core_target[:, team_slots], core_point[:, team_slots]

    def observe_done(self, done: NDArray[np.bool_]) -> None:
        for starts in self._starts.values():
            starts |= np.asarray(done, dtype=bool)


def resolve_checkpoint(path: Path) -> Path:
    """The checkpoint folder `path` means: itself when it holds a checkpoint, else a run folder's newest checkpoint.

    Raises:
        AgentSpecError: `path` is neither.
    """
    from fourfold.core.checkpoint import latest_checkpoint

    if (path / CHECKPOINT_MANIFEST).is_file():
        return path
    if path.is_dir():
        latest = latest_checkpoint(path / "checkpoints")
        if latest is None:
            latest = latest_checkpoint(path)  # a folder of step_N checkpoints itself
        if latest is not None:
            return latest
    raise AgentSpecError(_spec_message(str(path)))


def run_checkpoints(run: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint of a run folder (or of a folder of checkpoints), oldest first."""
    from fourfold.core.checkpoint import STEP_NAME, latest_checkpoint

    folder = run / "checkpoints" if (run / "checkpoints").is_dir() else run
    found = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = STEP_NAME.fullmatch(entry.name)
        if match and match.group(3) is None and (entry / CHECKPOINT_MANIFEST).is_file():
            found.append((int(match.group(2)), entry))
    if not found and latest_checkpoint(folder) is None:
        raise AgentSpecError(
            f"{run} holds no checkpoints (looked for step_N folders in {folder}); "
            "pass a run folder of `fourfold five train` that has saved one."
        )
    return sorted(found)


def checkpoint_game_config(path: Path, stage_name: str | None = None) -> GameConfig | None:
    """The game settings a training checkpoint was playing (its curriculum stage), or those of its curriculum's stage
    named `stage_name`; None if the checkpoint does not say (a pool snapshot, a saved policy, an unknown name)."""
    import json

    from fourfold.core.checkpoint import load_checkpoint
    from fourfold.core.config import from_jsonable

    config_file = path / "config.json"
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    stages = data.get("curriculum") if isinstance(data, dict) else None
    if not stages:
        return None
    if stage_name is not None:
        named = [stage for stage in stages if isinstance(stage, dict) and stage.get("name") == stage_name]
        stage: dict[str, Any] = named[0] if named else {}
    else:
        stage_index = 0
        counters = load_checkpoint(path, verify=False).state.get("counters", {})
        if isinstance(counters, dict):
            stage_index = int(counters.get("stage", 0))
        stage = stages[min(stage_index, len(stages) - 1)]
    game = stage.get("game") if isinstance(stage, dict) else None
    return from_jsonable(GameConfig, game) if isinstance(game, dict) else None


def _spec_message(spec: str) -> str:
    return (
        f"agent {spec!r} is neither a scripted bot ({', '.join(BOT_NAMES)}) nor a checkpoint folder nor a run folder "
        "with checkpoints; give one of those."
    )


def agent_from_spec(spec: str, seed: int = 0, deterministic: bool = False) -> Agent:
    """The agent `spec` names: a scripted bot (`random`, `easy`, `medium`, `hard`), a checkpoint folder, or a run
    folder (its newest checkpoint).

    Raises:
        AgentSpecError: `spec` is none of those (one sentence naming the valid bot names).
    """
    if spec in BOT_NAMES:
        return BotAgent(spec, seed)
    path = Path(spec)
    if not spec or not path.exists():
        raise AgentSpecError(_spec_message(spec))
    checkpoint = resolve_checkpoint(path)
    return PolicyAgent(checkpoint, deterministic=deterministic, seed=seed, name=agent_label(checkpoint))


def agent_label(checkpoint: Path) -> str:
    """A short name for a checkpoint: `<run>/step_N` (or the folder's name)."""
    parent = checkpoint.parent
    run = parent.parent if parent.name == "checkpoints" else parent
    return f"{run.name}/{checkpoint.name}" if run.name else checkpoint.name
