"""Tests of fourfold.gym.rng: every compiled draw equals numpy's Generator / PCG64 draw for draw, for many seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium.envs.toy_text.utils import categorical_sample as gymnasium_categorical_sample

from fourfold.gym import rng

SEEDS = [0, 1, 2, 7, 42, 123, 2024, 99_999, 2**31 - 1, 2**40 + 3, 2**64 + 5, 2**100]


def _pair(seed: int) -> tuple[np.ndarray, np.random.Generator]:
    """A generator row and the numpy Generator it must track, both seeded with `seed`."""
    return rng.rows_from_seeds([seed]), np.random.default_rng(seed)


def test_rows_from_seeds_match_default_rng_states() -> None:
    rows = rng.rows_from_seeds(SEEDS)
    assert rows.shape == (len(SEEDS), rng.STATE_WIDTH) and rows.dtype == np.uint64
    for i, seed in enumerate(SEEDS):
        assert rng.state_from_row(rows, i) == np.random.default_rng(seed).bit_generator.state


@pytest.mark.parametrize("seed", SEEDS)
def test_next_uint64_equals_random_raw(seed: int) -> None:
    rows, generator = _pair(seed)
    drawn = [int(rng.next_uint64(rows, 0)) for _ in range(2000)]
    assert drawn == [int(v) for v in generator.bit_generator.random_raw(2000)]
    assert rng.state_from_row(rows, 0) == generator.bit_generator.state


@pytest.mark.parametrize("seed", SEEDS)
def test_next_double_and_random_equal_generator_random(seed: int) -> None:
    rows, generator = _pair(seed)
    drawn = [rng.next_double(rows, 0) if k % 2 else rng.random(rows, 0) for k in range(2000)]
    assert drawn == list(generator.random(2000))


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_interleaved_32_and_64_bit_draws_equal_the_bit_generator(seed: int) -> None:
    rows = rng.rows_from_seeds([seed])
    bit_generator = np.random.PCG64(seed)
    c = bit_generator.ctypes  # numpy's own next_uint32 (buffered half), next_uint64 and next_double
    choices = np.random.default_rng(seed + 1).integers(0, 3, 3000)
    for kind in choices:
        if kind == 0:
            assert int(rng.next_uint32(rows, 0)) == c.next_uint32(c.state)
        elif kind == 1:
            assert int(rng.next_uint64(rows, 0)) == c.next_uint64(c.state)
        else:
            assert rng.next_double(rows, 0) == c.next_double(c.state)
    assert rng.state_from_row(rows, 0) == bit_generator.state


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_uniform_equals_generator_uniform(seed: int) -> None:
    rows, generator = _pair(seed)
    bounds = [(-0.05, 0.05), (-0.6, -0.4), (-np.pi, np.pi), (0.0, 1.0), (-1e-3, 2.5), (3.0, 3.0)]
    for k in range(1200):
        low, high = bounds[k % len(bounds)]
        assert rng.uniform(rows, 0, low, high) == generator.uniform(low, high)
    # Generator.uniform(size=4) draws the same numbers one after the other
    assert [rng.uniform(rows, 0, -0.05, 0.05) for _ in range(4)] == list(generator.uniform(-0.05, 0.05, size=4))


RANGES = [
    (0, 1),
    (0, 2),
    (0, 3),
    (0, 4),
    (0, 13),
    (-5, 7),
    (0, 500),
    (0, 2**31),
    (0, 2**32 - 1),
    (0, 2**32),
    (0, 2**32 + 1),
    (-(2**40), 2**40),
    (0, 2**62 + 12345),
    (-(2**63), 2**63 - 1),
]


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_integers_equal_generator_integers_interleaved_with_doubles(seed: int) -> None:
    rows, generator = _pair(seed)
    for k in range(3000):
        low, high = RANGES[k % len(RANGES)]
        assert rng.integers(rows, 0, low, high) == generator.integers(low, high), (low, high)
        if k % 7 == 0:  # a 64-bit draw between 32-bit ones keeps the buffered half in place
            assert rng.random(rows, 0) == generator.random()
    assert rng.state_from_row(rows, 0) == generator.bit_generator.state


def test_integers_needs_a_non_empty_range() -> None:
    rows = rng.rows_from_seeds([0])
    with pytest.raises(ValueError, match="low < high"):
        rng.integers(rows, 0, 3, 3)


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_choice_picks_the_index_generator_choice_picks(seed: int) -> None:
    rows, generator = _pair(seed)
    options: list[list[Any]] = [["J", "Q", "K"], list(range(1, 14)), ["hearts", "diamonds", "clubs", "spades"], [0, 1]]
    for k in range(2000):
        values = options[k % len(options)]
        assert values[int(rng.choice(rows, 0, len(values)))] == generator.choice(values)


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_categorical_sample_equals_gymnasiums(seed: int) -> None:
    rows, generator = _pair(seed)
    distributions = [
        np.array([1 / 3, 1 / 3, 1 / 3]),  # FrozenLake's slippery transitions
        np.array([1.0]),
        np.array([0.0, 0.0, 1.0, 0.0]),
        np.full(16, 1 / 16),
        np.array([0.1, 0.2, 0.3]),  # sums below 1: a draw above the total gives index 0, as np.argmax does
    ]
    for k in range(2000):
        probabilities = distributions[k % len(distributions)]
        assert rng.categorical_sample(rows, 0, probabilities) == gymnasium_categorical_sample(probabilities, generator)


def test_rows_are_independent_streams() -> None:
    rows = rng.rows_from_seeds([5, 6, 7])
    reference = [np.random.default_rng(seed) for seed in (5, 6, 7)]
    for k in range(300):
        i = (k * 7) % 3  # draw from the rows in a scrambled order
        assert rng.next_double(rows, i) == reference[i].random()
    for i in range(3):
        assert rng.state_from_row(rows, i) == reference[i].bit_generator.state


def test_generator_round_trip_keeps_the_buffered_half() -> None:
    rows, generator = _pair(11)
    rng.next_uint32(rows, 0)  # leaves a buffered 32-bit half
    generator.integers(0, 5)  # consumes a 32-bit half the same way
    copy = rng.generator_from_row(rows, 0)
    assert copy.bit_generator.state == generator.bit_generator.state
    assert copy.bit_generator.state["has_uint32"] == 1
    assert np.array_equal(rng.row_from_generator(copy), rows[0])
    copy.random()  # a copy: drawing from it leaves the row where it was
    assert rng.state_from_row(rows, 0) == generator.bit_generator.state


def test_row_from_state_rejects_other_bit_generators() -> None:
    with pytest.raises(ValueError, match="PCG64"):
        rng.row_from_state(np.random.MT19937(0).state)


def test_fresh_seeds_differ() -> None:
    assert rng.fresh_seed() != rng.fresh_seed()
