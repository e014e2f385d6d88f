"""The guards of fourfold's single envs: what each one checks before it acts, each failure one sentence.

Gymnasium's own envs assert (or step on regardless) where these raise a `fourfold.core.errors.FourfoldError`:
a render mode the env does not have, a step or render before `reset()`, a step after the episode ended (Gymnasium's
`PassiveEnvChecker` only warns), an action outside the action space. `render()` without a render mode warns and
returns None, as Gymnasium's envs do. Each message starts with the env's class name.
"""

from __future__ import annotations

from typing import Any, TypeVar

import gymnasium

from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

T = TypeVar("T")


def check_render_mode(env: gymnasium.Env[Any, Any], render_mode: str | None) -> None:
    """Raise EnvArgumentError unless `render_mode` is None or one of `env.metadata["render_modes"]`."""
    modes = [repr(mode) for mode in env.metadata["render_modes"]]
    if render_mode is not None and render_mode not in env.metadata["render_modes"]:
        allowed = ", ".join(["None", *modes[:-1]]) + f" or {modes[-1]}"
        raise EnvArgumentError(f"{type(env).__name__}: render_mode must be {allowed}, got {render_mode!r}")


def check_running(
    env: gymnasium.Env[Any, Any], state: T | None, ended: bool, what_ended: str = "the episode terminated"
) -> T:
    """The env's `state` (None before the first reset), once it is sure the env may step.

    Raises:
        ResetNeededError: before reset (`state` None), or after the episode ended (`ended`).
    """
    if state is None:
        raise ResetNeededError(f"{type(env).__name__}: call reset() before step()")
    if ended:
        raise ResetNeededError(f"{type(env).__name__}: {what_ended}; call reset() before stepping again")
    return state


def check_action(env: gymnasium.Env[Any, Any], action: Any) -> int:
    """A Discrete action as an int, or InvalidActionError when `env.action_space` does not contain it."""
    if not env.action_space.contains(action):
        space = env.action_space
        raise InvalidActionError(f"{type(env).__name__}: action {action!r} is outside the action space {space}")
    return int(action)


def state_to_render(env: gymnasium.Env[Any, Any], state: T | None) -> T | None:
    """The env's `state` to draw; None, with Gymnasium's warning, when the env has no render mode.

    Raises:
        ResetNeededError: a render mode, but no state yet (`state` None: before reset).
    """
    if env.render_mode is None:
        modes = " or ".join(repr(mode) for mode in sorted(env.metadata["render_modes"], reverse=True))
        gymnasium.logger.warn(
            f"You are calling render method without specifying any render mode: pass render_mode={modes} to "
            f"gymnasium.make or {type(env).__name__}."
        )
        return None
    if state is None:
        raise ResetNeededError(f"{type(env).__name__}: call reset() before render()")
    return state
