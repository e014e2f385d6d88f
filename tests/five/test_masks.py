"""Five's action masks never allow an action the rules reject, and the native API rejects what they forbid."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.five.actions import NUM_OFFSETS, NUM_TARGETS, decode_actions, uses_offset, uses_target
from fourfold.five.env import FiveVecEnv, sample_masked
from fourfold.five.game import core
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_ATTACK, ACTION_CAST_0, ACTION_NOOP, HERO_SLOTS, NUM_PRIMARY
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.observe import build_observations
from fourfold.five.game.scenario import random_midgame


def test_random_masked_actions_are_valid_over_many_steps() -> None:
    # FiveVecEnv.step validates every decoded action with the core's validate_actions: any mask that allowed an
    # invalid action would raise here.
    env = FiveVecEnv(8, GameConfig(), seed=11)
    env.reset()
    rng = np.random.default_rng(0)
    used = np.zeros(NUM_PRIMARY, dtype=np.int64)
    for _ in range(400):
        primary, target, offset = env.sample_actions(rng)
        used += np.bincount(primary.ravel(), minlength=NUM_PRIMARY)
        env.step(primary, target, offset)
    assert np.all(used > 0), f"some primary actions were never allowed: {used}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_allowed_action_is_valid_in_midgame_positions(seed: int) -> None:
    config = GameConfig(heroes_per_team=5 if seed != 2 else 3)
    state = random_midgame(6, config, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        obs = build_observations(state, config.map)
        # Enumerate every allowed (primary, target, offset) of every hero, validating them column by column.
        combos: list[list[list[tuple[int, int, int]]]] = [[[] for _ in range(HERO_SLOTS)] for _ in range(6)]
        for g in range(6):
            arch = state.archetype[g]
            for h in range(HERO_SLOTS):
                for p in np.nonzero(obs.mask_primary[g, h])[0]:
                    targets = np.nonzero(obs.mask_target[g, h, p])[0] if uses_target(arch[h], p) else [0]
                    offsets = np.nonzero(obs.mask_offset[g, h, p])[0] if uses_offset(arch[h], p) else [0]
                    combos[g][h].extend((int(p), int(t), int(o)) for t in targets for o in offsets)
        longest = max(len(c) for row in combos for c in row)
        for k in range(longest):
            action = np.zeros((3, 6, HERO_SLOTS), dtype=np.int64)
            for g in range(6):
                for h in range(HERO_SLOTS):
                    if k < len(combos[g][h]):
                        action[:, g, h] = combos[g][h][k]
            core.validate_actions(state, *decode_actions(state, obs.slots, action[0], action[1], action[2]))
        primary, target, offset = sample_masked(obs, rng)
        core.step(state, config, *decode_actions(state, obs.slots, primary, target, offset))


def test_masks_allow_useful_actions() -> None:
    # Not only noop: in mid-game positions alive heroes can attack and cast somewhere.
    config = GameConfig()
    state = random_midgame(16, config, seed=9)
    obs = build_observations(state, config.map)
    alive = state.alive[:, :HERO_SLOTS]
    assert obs.mask_primary[alive][:, ACTION_ATTACK].any()
    assert obs.mask_primary[alive][:, ACTION_CAST_0 : ACTION_CAST_0 + 3].any()
    # An ally-targeted cast may always target the hero itself (entry 0) when allowed.
    assert obs.mask_target.shape[-1] == NUM_TARGETS and obs.mask_offset.shape[-1] == NUM_OFFSETS


def test_native_api_rejects_masked_actions() -> None:
    env = FiveVecEnv(2, GameConfig(), seed=3)
    obs, _ = env.reset()
    zeros = np.zeros((2, HERO_SLOTS), dtype=np.int64)
    mask = obs["action_mask"]["primary"]
    forbidden = np.argwhere(~mask)
    assert len(forbidden) > 0
    g, h, p = (int(v) for v in forbidden[0])
    primary = zeros.copy()
    primary[g, h] = p
    with pytest.raises(InvalidActionError, match=f"game {g}, hero {h}"):
        env.step(primary, zeros, zeros)
    with pytest.raises(InvalidActionError, match="out of range"):
        env.step(zeros + NUM_PRIMARY, zeros, zeros)
    with pytest.raises(InvalidActionError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64), zeros, zeros)
    # Heads a primary does not read are ignored.
    env.step(zeros + ACTION_NOOP, zeros + NUM_TARGETS - 1, zeros + NUM_OFFSETS - 1)
