"""RL configs: each algorithm's hyperparameters (`PPOConfig`, `DQNConfig`, `SACConfig`) and the run around them
(`TrainConfig`), with the defaults of the papers and Stable-Baselines3; tuned values per task live in `presets.py`.

Names follow DESIGN.md's vocabulary (`num_envs`, `num_steps`, `learning_rate`, `batch_size`, `gamma`,
`gae_lambda`) and CleanRL's where the vocabulary is silent. A run's config.json holds the `TrainConfig` with the
resolved algorithm config under `hyperparameters` (`run_record`, `read_run`), so `fourfold gym analyze` groups
runs by `algo` and `env`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fourfold.core.config import ConfigError, from_jsonable, require, to_jsonable

Algorithm = Literal["ppo", "dqn", "sac"]
ALGORITHMS: tuple[Algorithm, ...] = ("ppo", "dqn", "sac")


@dataclass(frozen=True)
class PPOConfig:
    """Proximal Policy Optimization (Schulman et al. 2017) with GAE (Schulman et al. 2016), as SB3 and CleanRL do."""

    total_steps: int = 1_000_000
    """Environment steps to train for, over all envs."""
    num_envs: int = 8
    """N, envs stepped together."""
    num_steps: int = 128
    """T, steps per env per rollout; a rollout holds num_envs * num_steps transitions."""
    learning_rate: float = 3e-4
    """Adam's step size (decays linearly to 0 with `anneal_lr`)."""
    anneal_lr: bool = True
    """Decay the learning rate (and the clip range, with `anneal_clip`) linearly to 0 over training."""
    gamma: float = 0.99
    """Discount."""
    gae_lambda: float = 0.95
    """GAE's lambda."""
    num_minibatches: int = 4
    """Minibatches per epoch; minibatch size = num_envs * num_steps / num_minibatches."""
    update_epochs: int = 4
    """Passes over each rollout."""
    clip_coef: float = 0.2
    """Policy ratio clip range."""
    anneal_clip: bool = False
    """Decay the clip range linearly to 0 with the learning rate (rl-zoo's `lin_0.2`)."""
    clip_value_loss: bool = False
    """Clip the value update around the old values (PPO2's value clipping)."""
    normalize_advantage: bool = True
    """Normalise advantages per minibatch."""
    ent_coef: float = 0.0
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient norm clip."""
    target_kl: float | None = None
    """Stop an update's epochs early once the approximate KL exceeds this."""
    normalize_observation: bool = False
    """Scale observations by running mean and std (SB3's VecNormalize), clipped to +-10."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return (SB3's VecNormalize), clipped to +-10."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layers of the actor and of the critic (separate networks)."""
    activation: Literal["tanh", "relu"] = "tanh"
    """Hidden activation."""
    log_std_init: float = 0.0
    """Initial log std of the Gaussian policy (continuous actions)."""

    def __post_init__(self) -> None:
        _positive(self, "total_steps", "num_envs", "num_steps", "num_minibatches", "update_epochs")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1] (got {self.gamma})")
        require(0.0 <= self.gae_lambda <= 1.0, "gae_lambda", f"must be in [0, 1] (got {self.gae_lambda})")
        rollout = self.num_envs * self.num_steps
        require(
            rollout % self.num_minibatches == 0,
            "num_minibatches",
            f"must divide num_envs * num_steps = {rollout} (got {self.num_minibatches})",
        )

    @property
    def batch_size(self) -> int:
        """Transitions per rollout."""
        return self.num_envs * self.num_steps


@dataclass(frozen=True)
class DQNConfig:
    """Deep Q-Networks (Mnih et al. 2015) with double Q (van Hasselt et al. 2016) and optional n-step returns."""

    total_steps: int = 100_000
    """Environment steps to train for, over all envs."""
    num_envs: int = 1
    """N, envs stepped together."""
    learning_rate: float = 1e-4
    """Adam's step size."""
    buffer_size: int = 100_000
    """Replay capacity in transitions."""
    batch_size: int = 32
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount."""
    n_step: int = 1
    """Steps of reward summed before bootstrapping (1: plain one-step targets)."""
    double_q: bool = True
    """Choose the bootstrap action with the online network, value it with the target network."""
    target_update_interval: int = 10_000
    """Environment steps between hard copies of the online network into the target network."""
    learning_starts: int = 10_000
    """Environment steps of uniformly random actions before learning starts."""
    train_frequency: int = 4
    """Environment steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    exploration_fraction: float = 0.1
    """Fraction of training over which epsilon decays linearly."""
    exploration_initial_eps: float = 1.0
    """Epsilon at the start."""
    exploration_final_eps: float = 0.05
    """Epsilon after the decay."""
    max_grad_norm: float = 10.0
    """Global gradient norm clip."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to 0 over training (SB3's linear schedule)."""
    scale_observations: bool = False
    """Map observations with finite Box bounds to [-1, 1] (fixed, so replayed observations stay comparable)."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layers of the Q network (ReLU)."""

    def __post_init__(self) -> None:
        _positive(self, "total_steps", "num_envs", "buffer_size", "batch_size", "n_step")
        _positive(self, "target_update_interval", "train_frequency", "gradient_steps")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1] (got {self.gamma})")
        require(self.learning_starts >= 0, "learning_starts", f"must be at least 0 (got {self.learning_starts})")
        require(
            0.0 < self.exploration_fraction <= 1.0,
            "exploration_fraction",
            f"must be in (0, 1] (got {self.exploration_fraction})",
        )
        require(
            self.buffer_size >= self.batch_size,
            "buffer_size",
            f"must hold at least one batch ({self.batch_size})",
        )


@dataclass(frozen=True)
class SACConfig:
    """Soft Actor-Critic (Haarnoja et al. 2018) with twin Q and automatic entropy tuning, as SB3 runs it."""

    total_steps: int = 1_000_000
    """Environment steps to train for, over all envs."""
    num_envs: int = 1
    """N, envs stepped together."""
    learning_rate: float = 3e-4
    """Adam's step size for actor, critics and temperature."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions."""
    batch_size: int = 256
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount."""
    tau: float = 0.005
    """Polyak averaging rate of the target critics."""
    learning_starts: int = 100
    """Environment steps of uniformly random actions before learning starts."""
    train_frequency: int = 1
    """Environment steps between training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase."""
    ent_coef: float | None = None
    """A fixed entropy coefficient; None tunes it automatically towards an entropy of -action_dim."""
    ent_coef_init: float = 1.0
    """Initial entropy coefficient when it is tuned."""
    warmup_noise: Literal["uniform", "ou"] = "uniform"
    """Actions before `learning_starts`: uniform, or an Ornstein-Uhlenbeck process over the action range, whose
    temporally correlated pushes explore tasks like MountainCarContinuous that uniform noise never solves."""
    scale_observations: bool = False
    """Map observations with finite Box bounds to [-1, 1] (fixed, so replayed observations stay comparable)."""
    hidden_sizes: tuple[int, ...] = (256, 256)
    """Hidden layers of the actor and of each critic (ReLU)."""

    def __post_init__(self) -> None:
        _positive(self, "total_steps", "num_envs", "buffer_size", "batch_size", "train_frequency", "gradient_steps")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1] (got {self.gamma})")
        require(0.0 < self.tau <= 1.0, "tau", f"must be in (0, 1] (got {self.tau})")
        require(self.learning_starts >= 0, "learning_starts", f"must be at least 0 (got {self.learning_starts})")
        require(self.ent_coef is None or self.ent_coef >= 0, "ent_coef", f"must be at least 0 (got {self.ent_coef})")


AlgorithmConfig = PPOConfig | DQNConfig | SACConfig
CONFIG_TYPES: dict[Algorithm, type[PPOConfig] | type[DQNConfig] | type[SACConfig]] = {
    "ppo": PPOConfig,
    "dqn": DQNConfig,
    "sac": SACConfig,
}


@dataclass
class TrainConfig:
    """Train an agent on a Gymnasium task; hyperparameters come from the tuned preset for (algo, env)."""

    algo: Algorithm = "ppo"
    """Algorithm: ppo (discrete or continuous actions), dqn (discrete), sac (continuous)."""
    env: str = "fourfold/CartPole-v1"
    """Task: a fourfold/<Name>-vN id (the fast batched path) or any Gymnasium id."""
    seed: int = 0
    """Seed of the envs, the networks and the sampling."""
    hyperparams: tuple[str, ...] = ()
    """Overrides of the preset as name=value, e.g. --hyperparams learning_rate=1e-3 total_steps=50000."""
    total_steps: int | None = None
    """Environment steps to train for (default: the preset's)."""
    target_return: float | None = None
    """Stop once the mean return of the last 100 training episodes reaches this (default: train to the end)."""
    stop_at_target: bool = True
    """Stop at --target-return; False trains on and only records when it was reached."""
    out: Path | None = None
    """Run folder to write (default: <runs>/rl/<name>)."""
    name: str | None = None
    """Run name: written to <runs>/rl/<name>/ (default: <algo>-<task>-s<seed>)."""
    runs: Path = Path("runs")
    """Folder holding all runs."""
    resume: bool = False
    """Continue run <name> from its latest checkpoint, exactly as if it had not stopped."""
    overwrite: bool = False
    """Delete an existing run <name> and start again."""
    checkpoint_every: int = 0
    """Environment steps between checkpoints (0: one at the end only)."""
    keep_checkpoints: int = 2
    """Newest checkpoints kept."""
    eval_episodes: int = 10
    """Deterministic evaluation episodes at the end (0: none)."""
    threads: int = 1
    """Torch threads; small networks run fastest on one."""
    progress: bool = True
    """Show a progress bar on a terminal."""

    def __post_init__(self) -> None:
        require(self.algo in ALGORITHMS, "algo", f"must be one of {', '.join(ALGORITHMS)} (got {self.algo!r})")
        require(self.seed >= 0, "seed", f"must be at least 0 (got {self.seed})")
        require(self.total_steps is None or self.total_steps >= 1, "total_steps", "must be at least 1")
        require(self.checkpoint_every >= 0, "checkpoint_every", f"must be at least 0 (got {self.checkpoint_every})")
        require(self.keep_checkpoints >= 1, "keep_checkpoints", f"must be at least 1 (got {self.keep_checkpoints})")
        require(self.eval_episodes >= 0, "eval_episodes", f"must be at least 0 (got {self.eval_episodes})")
        require(self.threads >= 1, "threads", f"must be at least 1 (got {self.threads})")
        require(not (self.resume and self.overwrite), "resume", "cannot be combined with --overwrite")

    @property
    def run_name(self) -> str:
        """The run's folder name."""
        if self.name is not None:
            return self.name
        task = self.env.split("/")[-1]
        return f"{self.algo}-{task}-s{self.seed}"


def apply_overrides(config: AlgorithmConfig, overrides: tuple[str, ...]) -> AlgorithmConfig:
    """`config` with `name=value` overrides applied, each value parsed as the field's type.

    Raises:
        ConfigError: an override is not name=value, names no field, or its value does not parse.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    changes: dict[str, object] = {}
    for override in overrides:
        name, sep, text = override.partition("=")
        name = name.strip().replace("-", "_")
        if not sep:
            raise ConfigError("hyperparams", f"{override!r} is not name=value")
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError("hyperparams", f"{type(config).__name__} has no {name!r}; its fields are {known}")
        changes[name] = _parse(text.strip(), getattr(config, name), name)
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def _parse(text: str, current: object, name: str) -> object:
    """`text` as a value like `current` (the preset's value gives the type)."""
    try:
        if text.lower() in ("none", "null"):
            return None
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if isinstance(current, int):
            return int(float(text)) if float(text).is_integer() else int(text)
        if isinstance(current, float) or current is None:
            return float(text)
        if isinstance(current, tuple):
            return tuple(int(part) for part in text.strip("()[] ").split(",") if part.strip())
        return text
    except ValueError:
        raise ConfigError("hyperparams", f"{name}={text!r} does not parse as {type(current).__name__}") from None


def _positive(config: object, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        require(value >= 1, name, f"must be at least 1 (got {value})")


HYPERPARAMETERS_KEY = "hyperparameters"


@dataclass(frozen=True)
class RunSpec:
    """What a run was: its command's config and the algorithm config resolved from preset and overrides."""

    train: TrainConfig
    algorithm: AlgorithmConfig


def run_record(spec: RunSpec) -> dict[str, object]:
    """The run's config.json: the `TrainConfig`'s fields plus the resolved algorithm config under "hyperparameters"."""
    record = to_jsonable(spec.train)
    record[HYPERPARAMETERS_KEY] = to_jsonable(spec.algorithm)
    return dict(record)


def read_run(directory: Path) -> RunSpec:
    """The `RunSpec` of the run in `directory`, from its config.json.

    Raises:
        ConfigError: the folder has no config.json of an RL run, or a field is wrong.
    """
    path = directory / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", "no such file: is this an RL run folder (runs/rl/<name>)?", source=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError("", f"not valid JSON ({error})", source=str(path)) from None
    if not isinstance(data, dict) or HYPERPARAMETERS_KEY not in data or "algo" not in data:
        raise ConfigError("", "not the config of an RL run (no algo or hyperparameters)", source=str(path))
    hyperparameters = data.pop(HYPERPARAMETERS_KEY)
    train = from_jsonable(TrainConfig, data)
    algorithm = from_jsonable(CONFIG_TYPES[train.algo], hyperparameters)
    return RunSpec(train, algorithm)
