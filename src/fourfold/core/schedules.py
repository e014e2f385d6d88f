"""Schedules: a value (learning rate, entropy coefficient, clip range, exploration rate) as a function of the step.

Each schedule is a pure function of the step number, so a resumed run recomputes exactly the value the
uninterrupted run would have used, and nothing needs saving in a checkpoint. Steps count from 0.

- `warmup_cosine`: linear warmup then cosine decay, the GPT recipe (Radford et al. 2018, "Improving Language
  Understanding by Generative Pre-Training", section 4.1; as in nanoGPT's `get_lr`).
- `linear`: a straight line from `start` to `end`, clamped (PPO's annealed learning rate and clip range, DQN's
  epsilon).
- `constant`: the same value every step, so a loop can treat every schedule alike.
"""

from __future__ import annotations

import math


def warmup_cosine(step: int, *, warmup_steps: int, total_steps: int, max_value: float, min_value: float = 0.0) -> float:
    """Linear warmup to `max_value`, then cosine decay to `min_value` at `total_steps`, constant after.

    Warmup uses (step + 1) / warmup_steps, like nanoGPT: step 0 already gets max_value / warmup_steps (a first
    step with value 0 would be wasted) and the last warmup step, warmup_steps - 1, reaches max_value. From step
    `warmup_steps` the value follows half a cosine from max_value down to min_value, reached at `total_steps`.

    Args:
        step: the current step, from 0.
        warmup_steps: steps of linear warmup (0 for none), at most `total_steps`.
        total_steps: the step at which the decay reaches `min_value`; positive.
        max_value: the value at the end of warmup.
        min_value: the value from `total_steps` on; at most `max_value`.

    Raises:
        ValueError: a negative step or warmup, a non-positive total, warmup longer than the total, or
            min_value above max_value.
    """
    _check_step(step)
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive (got {total_steps})")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be from 0 to total_steps={total_steps} (got {warmup_steps})")
    if min_value > max_value:
        raise ValueError(f"min_value ({min_value}) must not exceed max_value ({max_value})")
    if step < warmup_steps:
        return max_value * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_value
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # in [0, 1)
    return min_value + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_value - min_value)


def linear(step: int, *, total_steps: int, start: float, end: float) -> float:
    """A straight line from `start` at step 0 to `end` at `total_steps`, and `end` after.

    Args:
        step: the current step, from 0.
        total_steps: the step at which `end` is reached; positive.
        start: the value at step 0.
        end: the value from `total_steps` on.

    Raises:
        ValueError: a negative step or a non-positive total.
    """
    _check_step(step)
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive (got {total_steps})")
    fraction = min(step / total_steps, 1.0)
    return start + fraction * (end - start)


def constant(step: int, *, value: float) -> float:
    """The same `value` at every step.

    Raises:
        ValueError: a negative step (as the other schedules do, so a bug shows up whichever one is chosen).
    """
    _check_step(step)
    return value


def _check_step(step: int) -> None:
    if step < 0:
        raise ValueError(f"step must be 0 or more (got {step})")
