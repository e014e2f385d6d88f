"""The conformance checks that the toy-text tasks' tests share (FrozenLake, CliffWalking, Taxi, Blackjack): a single
env stepped beside Gymnasium's, a vector env beside Gymnasium's SyncVectorEnv (or the compiled kernel beside the
NumPy reference, the same way) with every output and info compared, and the guards of a single env. Each task's test
file supplies what is its own: the options, the actions (a policy that reaches the outcomes that matter) and what to
count.

`lockstep` and `single_lockstep` are generators: they assert equality as they go and yield each step's outputs, so
that a test counts what it needs in its own loop; the last checks (each env's random stream) run when the loop ends.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]

Policy = Callable[[Any, np.random.Generator], np.ndarray]
"""Actions (N,) of a vector env from its observations and a generator."""


def assert_same(got: Any, want: Any, where: str = "", skip: frozenset[str] = frozenset()) -> None:
    """Assert `got` (fourfold's) equals `want` (the reference's): arrays with their dtypes, tuples and dicts item by
    item (leaving out the keys in `skip`), object arrays (`final_obs`) element by element, scalars by value.

    SyncVectorEnv's `prob` takes env 0's type, an int after its reset, and casts the others to it: where the reference
    holds ints and fourfold floats, only the shapes are compared.
    """
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), (where, sorted(got), sorted(want))
        for key, value in want.items():
            if key not in skip:
                assert_same(got[key], value, f"{where}[{key!r}]", skip)
    elif isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), where
        for index, (mine, theirs) in enumerate(zip(got, want, strict=True)):
            assert_same(mine, theirs, f"{where}[{index}]", skip)
    elif isinstance(want, np.ndarray) and want.dtype == object:
        assert isinstance(got, np.ndarray) and got.shape == want.shape, where
        for index, theirs in enumerate(want):
            assert (got[index] is None) == (theirs is None), (where, index)
            if theirs is not None:
                assert isinstance(got[index], tuple) == isinstance(theirs, tuple), (where, index)
                assert np.array_equal(np.asarray(got[index]), np.asarray(theirs)), (where, index)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape, where
        if not (want.dtype.kind in "iu" and got.dtype.kind == "f"):
            assert got.dtype == want.dtype and np.array_equal(got, want), (where, got, want)
    else:
        assert got == want, (where, got, want)


def vector_pair(
    task: str, reference: str, mode: AutoresetMode = AutoresetMode.NEXT_STEP, **kwargs: Any
) -> tuple[Any, Any]:
    """fourfold's vector env of `task` and Gymnasium's SyncVectorEnv of `reference`, with the same autoreset mode
    and keyword arguments (num_envs, max_episode_steps, the task's options)."""
    ours = gym.make_vec(task, autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec(reference, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs)
    assert ours.metadata["autoreset_mode"] == mode
    assert ours.single_observation_space == theirs.single_observation_space
    assert ours.single_action_space == theirs.single_action_space
    return ours, theirs


def _generator(envs: Any, index: int) -> np.random.Generator:
    """Env `index`'s generator: a copy from fourfold's vector env, the live one from SyncVectorEnv."""
    generator: np.random.Generator = envs.generator(index) if hasattr(envs, "generator") else envs.np_random[index]
    return generator


def lockstep(
    ours: Any, theirs: Any, *, steps: int, seed: int, policy: Policy, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Reset two vector envs with `seed` and step them with the same actions, asserting equal outputs and infos
    (see `assert_same`); yield (the observations before the step, fourfold's step outputs) each step.

    With autoreset disabled, the envs that ended are reset (by mask) before the next step, and compared. When the
    loop ends, every env must stand at the same place of its own random stream in both.
    """
    observations, info = ours.reset(seed=seed)
    assert_same((observations, info), theirs.reset(seed=seed), "reset", skip)
    generator = np.random.default_rng(seed)
    disabled = ours.metadata["autoreset_mode"] == AutoresetMode.DISABLED
    for step in range(steps):
        actions = policy(observations, generator)
        before, outputs = observations, ours.step(actions)
        assert_same(outputs, theirs.step(actions), f"step {step}", skip)
        yield before, outputs
        observations, done = outputs[0], outputs[2] | outputs[3]
        if disabled and done.any():
            observations, info = ours.reset(options={"reset_mask": done})
            assert_same((observations, info), theirs.reset(options={"reset_mask": done.copy()}), "reset", skip)
    for index in range(ours.num_envs):
        assert _generator(ours, index).bit_generator.state == _generator(theirs, index).bit_generator.state, index


def single_lockstep(
    ours: gym.Env[Any, Any],
    theirs: gym.Env[Any, Any],
    *,
    episodes: int,
    policy: Callable[[Any, np.random.Generator, int], int],
    max_steps: int | None = None,
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Play `episodes` episodes (seeds 0, 1, ...) of two single envs with the same actions, `policy(observation,
    generator, episode)`, asserting equal outputs, infos and (with render_mode "ansi") rendered texts; yield
    (episode, fourfold's step outputs) each step. An episode ends when it does, or after `max_steps` steps.

    fourfold's observations have the reference's type and its rewards are floats (Gymnasium's toy-text rewards are
    ints in places). When the loop ends, both envs' generators must stand at the same place.
    """
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    for episode in range(episodes):
        observation, info = ours.reset(seed=episode)
        assert_same((observation, info), theirs.reset(seed=episode), f"reset {episode}")
        if ours.render_mode is not None:
            assert_same(ours.render(), theirs.render(), f"render {episode}")
        step, done = 0, False
        while not done and (max_steps is None or step < max_steps):
            action = policy(observation, generator, episode)
            outputs = ours.step(action)
            expected = theirs.step(action)
            assert_same(outputs, expected, f"episode {episode} step {step}")
            assert type(outputs[0]) is type(expected[0]) and type(outputs[1]) is float
            if ours.render_mode is not None:
                assert_same(ours.render(), theirs.render(), f"render {episode}, {step}")
            yield episode, outputs
            observation, done, step = outputs[0], outputs[2] or outputs[3], step + 1
    mine, reference = ours.unwrapped.np_random, theirs.unwrapped.np_random
    assert mine.bit_generator.state == reference.bit_generator.state


def assert_same_transitions(ours: gym.Env[Any, Any], theirs: gym.Env[Any, Any]) -> None:
    """fourfold's `P` equals Gymnasium's, but for types: ints for next states and floats for rewards throughout."""
    mine, transitions = ours.unwrapped.P, theirs.unwrapped.P  # type: ignore[attr-defined]
    assert mine == {
        s: {a: [(p, int(n), float(r), t) for p, n, r, t in row[a]] for a in row} for s, row in transitions.items()
    }


@contextmanager
def no_warnings() -> Iterator[None]:
    """Assert that the block warns nothing (Gymnasium's env checker warns where it would pass with reservations)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert not caught, [str(warning.message) for warning in caught]


def assert_single_env_guards(
    make: Callable[..., gym.Env[Any, Any]], bad_actions: list[Any]
) -> tuple[gym.Env[Any, Any], Any]:
    """A single env of `make(**kwargs)` refuses a bad render mode, a step before reset and each of `bad_actions`,
    each with its error; return the env, reset with seed 0, and its first observation (the bad actions changed
    nothing)."""
    with pytest.raises(EnvArgumentError, match="render_mode must be None"):
        make(render_mode="human")
    env = make()
    with pytest.raises(ResetNeededError, match="call reset"):
        env.step(0)
    observation, _ = env.reset(seed=0)
    for action in bad_actions:
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(action)
    return env, observation
