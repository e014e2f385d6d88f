"""Checkpoints of RL runs: every network under its name, and the state that makes a resumed run continue exactly
(optimizers, the sampling generators, normalisers, the replay buffer, the envs' own state, the current
observations and counters).

A checkpoint holds `<module>.<parameter>` tensors in model.safetensors and the rest in the state tree
(`fourfold.core.checkpoint`). Exact resume needs the envs' state: fourfold's batched tasks give it
(`BatchedVectorEnv.get_state`); other Gymnasium envs are reset with a fresh seed on resume, which is then
statistically, not bitwise, the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from fourfold.core.checkpoint import (
    Checkpoint,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    load_model_state,
    prune_checkpoints,
    save_checkpoint,
)
from fourfold.core.errors import FourfoldError
from fourfold.core.runlog import Run
from fourfold.rl.config import RunSpec, run_record
from fourfold.rl.envs import FloatArray, TrainEnv

KIND = "rl"


def save(run: Run, spec: RunSpec, step: int, modules: dict[str, nn.Module], state: dict[str, Any]) -> Path:
    """Write the checkpoint of `step` into the run's checkpoints folder and prune old ones."""
    model = {f"{name}.{key}": tensor for name, module in modules.items() for key, tensor in module.state_dict().items()}
    path = save_checkpoint(
        checkpoint_path(run.checkpoints, step), model=model, config=run_record(spec), state=state, step=step, kind=KIND
    )
    prune_checkpoints(run.checkpoints, spec.train.keep_checkpoints)
    return path


def load_latest(run_directory: Path) -> Checkpoint:
    """The newest checkpoint of a run.

    Raises:
        FourfoldError: the run has none (it was never trained to a checkpoint).
    """
    path = latest_checkpoint(run_directory / "checkpoints")
    if path is None:
        raise FourfoldError(f"run {run_directory} has no checkpoint yet; train it first (`fourfold rl train`)")
    return load_checkpoint(path, kind=KIND)


def restore_env(env: TrainEnv, state: dict[str, Any], seed: int, position: int) -> FloatArray:
    """Put the envs back as a checkpoint's `state` saved them ("env", "observations") and return the observations
    to act on; envs that cannot restore their state are reset with a seed derived from `seed` and `position`."""
    if env.set_state(state["env"]):
        observations: FloatArray = state["observations"]
        return observations
    return env.reset(seed + 7919 * position)


def load_modules(checkpoint: Checkpoint, modules: dict[str, nn.Module]) -> None:
    """Load each module's tensors (saved under `<name>.`) from `checkpoint`."""
    for name, module in modules.items():
        prefix = f"{name}."
        state = {key[len(prefix) :]: value for key, value in checkpoint.model.items() if key.startswith(prefix)}
        load_model_state(module, state, str(checkpoint.path))
