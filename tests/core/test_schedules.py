"""Tests for fourfold.core.schedules: endpoints, shape and argument checks of each schedule."""

from __future__ import annotations

import itertools
import math

import pytest

from fourfold.core.schedules import constant, linear, warmup_cosine


def cosine(step: int) -> float:
    """The schedule most tests look at: 10 warmup steps, decay from 1.0 to 0.1 at step 110."""
    return warmup_cosine(step, warmup_steps=10, total_steps=110, max_value=1.0, min_value=0.1)


def test_warmup_starts_near_zero_and_reaches_the_maximum() -> None:
    assert cosine(0) == pytest.approx(0.1)  # (0 + 1) / 10
    assert cosine(4) == pytest.approx(0.5)
    assert cosine(9) == pytest.approx(1.0)  # the last warmup step
    assert cosine(10) == pytest.approx(1.0)  # the first decay step


def test_cosine_midpoint_is_halfway_between_max_and_min() -> None:
    assert cosine(60) == pytest.approx((1.0 + 0.1) / 2)
    quarter = 0.1 + 0.5 * (1 + math.cos(math.pi / 4)) * 0.9
    assert cosine(35) == pytest.approx(quarter)


def test_cosine_reaches_the_minimum_and_stays_there() -> None:
    assert cosine(109) == pytest.approx(0.1, abs=1e-3)
    for step in (110, 111, 10_000):
        assert cosine(step) == 0.1


def test_warmup_rises_and_decay_falls_monotonically() -> None:
    values = [cosine(step) for step in range(130)]
    rise, fall = values[:10], values[10:]
    assert all(a < b for a, b in itertools.pairwise(rise))
    assert all(a >= b for a, b in itertools.pairwise(fall))
    assert all(a > b for a, b in itertools.pairwise(fall[:100]))


def test_no_warmup_starts_at_the_maximum() -> None:
    assert warmup_cosine(0, warmup_steps=0, total_steps=10, max_value=3.0) == 3.0
    assert warmup_cosine(10, warmup_steps=0, total_steps=10, max_value=3.0) == 0.0


def test_warmup_as_long_as_the_total_then_the_minimum() -> None:
    assert warmup_cosine(4, warmup_steps=5, total_steps=5, max_value=1.0) == pytest.approx(1.0)
    assert warmup_cosine(5, warmup_steps=5, total_steps=5, max_value=1.0, min_value=0.2) == 0.2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"step": -1, "warmup_steps": 1, "total_steps": 10, "max_value": 1.0}, "step must be 0 or more"),
        ({"step": 0, "warmup_steps": 1, "total_steps": 0, "max_value": 1.0}, "total_steps must be positive"),
        ({"step": 0, "warmup_steps": 11, "total_steps": 10, "max_value": 1.0}, "warmup_steps must be from 0"),
        ({"step": 0, "warmup_steps": -1, "total_steps": 10, "max_value": 1.0}, "warmup_steps must be from 0"),
        ({"step": 0, "warmup_steps": 1, "total_steps": 10, "max_value": 1.0, "min_value": 2.0}, "must not exceed"),
    ],
)
def test_warmup_cosine_bad_arguments(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        warmup_cosine(**arguments)  # type: ignore[arg-type]


def test_linear_endpoints_midpoint_and_clamping() -> None:
    assert linear(0, total_steps=100, start=2.5, end=0.5) == 2.5
    assert linear(50, total_steps=100, start=2.5, end=0.5) == pytest.approx(1.5)
    assert linear(100, total_steps=100, start=2.5, end=0.5) == 0.5
    assert linear(1_000, total_steps=100, start=2.5, end=0.5) == 0.5


def test_linear_is_monotonic_in_either_direction() -> None:
    down = [linear(step, total_steps=20, start=1.0, end=0.0) for step in range(20)]
    up = [linear(step, total_steps=20, start=0.0, end=1.0) for step in range(20)]
    assert all(a > b for a, b in itertools.pairwise(down))
    assert all(a < b for a, b in itertools.pairwise(up))


def test_linear_bad_arguments() -> None:
    with pytest.raises(ValueError, match="total_steps must be positive"):
        linear(0, total_steps=0, start=1.0, end=0.0)
    with pytest.raises(ValueError, match="step must be 0 or more"):
        linear(-3, total_steps=10, start=1.0, end=0.0)


def test_constant() -> None:
    assert [constant(step, value=0.25) for step in (0, 1, 10**9)] == [0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="step must be 0 or more"):
        constant(-1, value=0.25)
