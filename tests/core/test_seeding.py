"""Tests for fourfold.core.seeding: one seed fixes every global generator, and saved states resume exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from fourfold.core.seeding import SeedError, capture_rng_state, restore_rng_state, seed_everything


def draw() -> tuple[list[float], list[float], list[float]]:
    """A few draws from each of Python's, NumPy's and torch's global generators."""
    return (
        [random.random() for _ in range(3)],
        np.random.rand(3).tolist(),
        torch.rand(3).tolist(),
    )


def test_same_seed_gives_same_draws_from_all_three() -> None:
    seed_everything(1234)
    first = draw()
    seed_everything(1234)
    second = draw()
    assert first == second


def test_different_seeds_give_different_draws_from_all_three() -> None:
    seed_everything(1)
    first = draw()
    seed_everything(2)
    second = draw()
    for a, b in zip(first, second, strict=True):
        assert a != b


def test_capture_and_restore_give_identical_next_draws() -> None:
    seed_everything(7)
    draw()  # move the generators away from the freshly seeded state
    np.random.randn()  # leaves a cached Gaussian in NumPy's legacy state, which must be captured too
    state = capture_rng_state()
    expected = (draw(), np.random.randn())
    draw()
    restore_rng_state(state)
    assert (draw(), np.random.randn()) == expected


def test_captured_state_holds_plain_values() -> None:
    state = capture_rng_state()
    assert {"python", "numpy", "torch"} <= set(state)
    assert isinstance(state["python"], tuple)
    assert isinstance(state["numpy"][1], np.ndarray)
    assert isinstance(state["torch"], torch.Tensor) and state["torch"].dtype == torch.uint8


def test_restore_accepts_lists_as_a_checkpoint_may_return_them() -> None:
    seed_everything(3)
    state = capture_rng_state()
    expected = draw()
    version, internal, gauss = state["python"]
    name, keys, position, has_gauss, cached = state["numpy"]
    as_stored = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys, position, has_gauss, cached],
        "torch": state["torch"].tolist(),
    }
    draw()
    restore_rng_state(as_stored)
    assert draw() == expected


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(SeedError, match="seed must be an integer"):
        seed_everything(seed)  # type: ignore[arg-type]


def test_incomplete_state_is_refused_naming_the_missing_entry() -> None:
    state = capture_rng_state()
    del state["numpy"]
    with pytest.raises(SeedError, match="lacks numpy"):
        restore_rng_state(state)


def test_corrupt_state_is_refused() -> None:
    state = capture_rng_state()
    state["torch"] = torch.zeros(3, dtype=torch.uint8)
    with pytest.raises(SeedError, match="cannot be restored"):
        restore_rng_state(state)
