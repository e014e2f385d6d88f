"""numpy's PCG64 generator inside numba: one random stream per env, draw for draw equal to `np.random.Generator`.

Gymnasium seeds sub-env i of a vector env with `seed + i` and draws each reset from that env's own
`np.random.default_rng` stream. To stay exact to it inside one compiled kernel over all envs, the generators of N
envs are the rows of one (N, STATE_WIDTH) uint64 array, and the `@numba.njit` functions below reproduce numpy's
PCG64 (XSL-RR 128/64 as in numpy's `pcg64.h`: step the 128-bit LCG, then output from the new state; O'Neill 2014,
"PCG: A Family of Simple Fast Space-Efficient Statistically Good Algorithms for Random Number Generation") and the
`Generator` methods that Gymnasium's envs call, bit for bit. Each takes the array and a row index `i` (no row view,
which would cost a reference count per call in a kernel):

| here                                | numpy / Gymnasium                                            |
| ----------------------------------- | ------------------------------------------------------------ |
| `next_uint64(rows, i)`              | `bit_generator.random_raw()`                                 |
| `next_uint32(rows, i)`              | the bit generator's buffered 32-bit half (`next_uint32`)     |
| `next_double(rows, i)`, `random`    | `Generator.random()`                                         |
| `uniform(rows, i, low, high)`       | `Generator.uniform(low, high)` (also each draw of `size=k`)  |
| `integers(rows, i, low, high)`      | `Generator.integers(low, high)` (int64, Lemire's method)     |
| `choice(rows, i, n)`                | the index that `Generator.choice(a)` picks for `len(a) == n` |
| `categorical_sample(rows, i, p)`    | `gymnasium.envs.toy_text.utils.categorical_sample(p, rng)`   |

A row holds the 128-bit LCG state and increment as high/low halves, and numpy's buffered 32-bit half: `has_uint32`,
`uinteger` (`Generator.integers` with a range below 2**32 draws 32-bit halves, so the buffer is part of the
stream). Rows are seeded in Python from `np.random.default_rng(seed)` (`rows_from_seeds`) and read back into a
`np.random.Generator` (`generator_from_row`) for checks and references.

All arithmetic is on uint64 with wrap-around; every constant is a `np.uint64` because numba turns uint64 mixed with
a plain int into float64. Kernels that call these functions are compiled with them (cache=True), and numba's cache
does not notice edits here: after editing this file, delete the `*.nbi`/`*.nbc` files in `__pycache__`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

STATE_HI, STATE_LO, INC_HI, INC_LO, HAS_UINT32, UINTEGER = range(6)
STATE_WIDTH = 6
"""Columns of a generator row, and their number."""

# PCG_DEFAULT_MULTIPLIER_128 of numpy's pcg64.h, as high and low halves.
_MULTIPLIER_HI = np.uint64(2549297995355413924)
_MULTIPLIER_LO = np.uint64(4865540595714422341)
_MASK32 = np.uint64(0xFFFFFFFF)
_MAX64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_SHIFT11 = np.uint64(11)
_SHIFT32 = np.uint64(32)
_SHIFT58 = np.uint64(58)
_SIXTY_FOUR = np.uint64(64)
_SIXTY_THREE = np.uint64(63)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


@numba.njit(cache=True)
def _multiply_high(x: np.uint64, y: np.uint64) -> np.uint64:
    """The high 64 bits of the 128-bit product x * y (numpy's `_pcg_mult64` without `__uint128_t`)."""
    x0 = x & _MASK32
    x1 = x >> _SHIFT32
    y0 = y & _MASK32
    y1 = y >> _SHIFT32
    w0 = x0 * y0
    t = x1 * y0 + (w0 >> _SHIFT32)
    w1 = (t & _MASK32) + x0 * y1
    return x1 * y1 + (t >> _SHIFT32) + (w1 >> _SHIFT32)


@numba.njit(cache=True)
def next_uint64(rows: NDArray[np.uint64], i: int) -> np.uint64:
    """Step the LCG (state = state * multiplier + increment, mod 2**128) and return XSL-RR of the new state."""
    state_hi = rows[i, STATE_HI]
    state_lo = rows[i, STATE_LO]
    product_hi = state_hi * _MULTIPLIER_LO + state_lo * _MULTIPLIER_HI + _multiply_high(state_lo, _MULTIPLIER_LO)
    product_lo = state_lo * _MULTIPLIER_LO
    new_lo = product_lo + rows[i, INC_LO]
    carry = _ONE if new_lo < product_lo else _ZERO
    new_hi = product_hi + rows[i, INC_HI] + carry
    rows[i, STATE_HI] = new_hi
    rows[i, STATE_LO] = new_lo
    value = new_hi ^ new_lo
    rotation = new_hi >> _SHIFT58
    return np.uint64((value >> rotation) | (value << ((_SIXTY_FOUR - rotation) & _SIXTY_THREE)))


@numba.njit(cache=True)
def next_uint32(rows: NDArray[np.uint64], i: int) -> np.uint64:
    """numpy's buffered 32-bit draw: the low half of a fresh 64-bit draw, keeping its high half for the next call.

    Returns the 32-bit value in a uint64 (so that callers' arithmetic stays in uint64).
    """
    if rows[i, HAS_UINT32] != _ZERO:
        rows[i, HAS_UINT32] = _ZERO
        return np.uint64(rows[i, UINTEGER])
    value = next_uint64(rows, i)
    rows[i, HAS_UINT32] = _ONE
    rows[i, UINTEGER] = value >> _SHIFT32
    return value & _MASK32


@numba.njit(cache=True)
def next_double(rows: NDArray[np.uint64], i: int) -> float:
    """A float64 in [0, 1) from the top 53 bits of a 64-bit draw (numpy's `pcg64_next_double`)."""
    return float(next_uint64(rows, i) >> _SHIFT11) * _TWO_POW_MINUS_53


@numba.njit(cache=True)
def random(rows: NDArray[np.uint64], i: int) -> float:
    """`Generator.random()`: a float64 in [0, 1)."""
    return next_double(rows, i)


@numba.njit(cache=True)
def uniform(rows: NDArray[np.uint64], i: int, low: float, high: float) -> float:
    """`Generator.uniform(low, high)`: `low + (high - low) * random()`, as numpy computes it."""
    return low + (high - low) * next_double(rows, i)


@numba.njit(cache=True)
def _bounded_lemire_uint32(rows: NDArray[np.uint64], i: int, bound: np.uint64) -> np.uint64:
    """A uint in [0, bound] for bound < 2**32 - 1, from 32-bit draws (numpy's `buffered_bounded_lemire_uint32`)."""
    bound_excl = bound + _ONE
    product = next_uint32(rows, i) * bound_excl
    leftover = product & _MASK32
    if leftover < bound_excl:
        threshold = (_MASK32 - bound) % bound_excl
        while leftover < threshold:
            product = next_uint32(rows, i) * bound_excl
            leftover = product & _MASK32
    return product >> _SHIFT32


@numba.njit(cache=True)
def _bounded_lemire_uint64(rows: NDArray[np.uint64], i: int, bound: np.uint64) -> np.uint64:
    """A uint in [0, bound] for 2**32 <= bound < 2**64 - 1, from 64-bit draws (numpy's `bounded_lemire_uint64`)."""
    bound_excl = bound + _ONE
    draw = next_uint64(rows, i)
    leftover = draw * bound_excl
    if leftover < bound_excl:
        threshold = (_MAX64 - bound) % bound_excl
        while leftover < threshold:
            draw = next_uint64(rows, i)
            leftover = draw * bound_excl
    return _multiply_high(draw, bound_excl)


@numba.njit(cache=True)
def integers(rows: NDArray[np.uint64], i: int, low: int, high: int) -> np.int64:
    """`Generator.integers(low, high)` for int64 (high exclusive), with numpy's choice of method per range.

    Ranges below 2**32 draw buffered 32-bit halves, wider ones 64-bit values (numpy's `random_bounded_uint64_fill`
    with Lemire's rejection, `use_masked=False`).

    Raises:
        ValueError: high <= low.
    """
    if high <= low:
        raise ValueError("integers(rows, i, low, high) needs low < high")
    # high - low - 1 in uint64 arithmetic is exact even where it would overflow int64.
    bound = np.uint64(high) - np.uint64(low) - _ONE
    if bound == _ZERO:
        offset = _ZERO
    elif bound < _MASK32:
        offset = _bounded_lemire_uint32(rows, i, bound)
    elif bound == _MASK32:
        offset = next_uint32(rows, i)
    elif bound == _MAX64:
        offset = next_uint64(rows, i)
    else:
        offset = _bounded_lemire_uint64(rows, i, bound)
    return np.int64(np.uint64(low) + offset)


@numba.njit(cache=True)
def choice(rows: NDArray[np.uint64], i: int, n: int) -> np.int64:
    """The index that `Generator.choice(a)` picks from a sequence of length n (it draws `integers(0, n)`)."""
    return integers(rows, i, 0, n)


@numba.njit(cache=True)
def categorical_sample(rows: NDArray[np.uint64], i: int, probabilities: NDArray[np.float64]) -> int:
    """Gymnasium toy-text's `categorical_sample`: the first index whose cumulative probability exceeds `random()`.

    Like `np.argmax(np.cumsum(p) > u)`, it returns 0 when no cumulative sum exceeds the draw.
    """
    draw = next_double(rows, i)
    cumulative = 0.0
    for index in range(probabilities.shape[0]):
        cumulative += probabilities[index]
        if cumulative > draw:
            return index
    return 0


def fresh_seed() -> int:
    """A random seed from the operating system's entropy, as `np.random.default_rng(None)` would use."""
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)
    return entropy


def row_from_state(state: Mapping[str, Any]) -> NDArray[np.uint64]:
    """The row (STATE_WIDTH,) uint64 of a PCG64 `bit_generator.state` dict."""
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"expected a PCG64 state, got a {state.get('bit_generator')!r} state")
    value = int(state["state"]["state"])
    increment = int(state["state"]["inc"])
    mask = (1 << 64) - 1
    return np.array(
        [value >> 64, value & mask, increment >> 64, increment & mask, state["has_uint32"], state["uinteger"]],
        dtype=np.uint64,
    )


def state_from_row(rows: NDArray[np.uint64], i: int) -> dict[str, Any]:
    """The PCG64 `bit_generator.state` dict of row i, to compare with or load into a `np.random.Generator`."""
    return {
        "bit_generator": "PCG64",
        "state": {
            "state": (int(rows[i, STATE_HI]) << 64) | int(rows[i, STATE_LO]),
            "inc": (int(rows[i, INC_HI]) << 64) | int(rows[i, INC_LO]),
        },
        "has_uint32": int(rows[i, HAS_UINT32]),
        "uinteger": int(rows[i, UINTEGER]),
    }


def row_from_generator(generator: np.random.Generator) -> NDArray[np.uint64]:
    """The row of a `np.random.Generator` built on PCG64 (its current position in the stream)."""
    return row_from_state(generator.bit_generator.state)


def generator_from_row(rows: NDArray[np.uint64], i: int) -> np.random.Generator:
    """A new `np.random.Generator` at row i's position in its stream (a copy: drawing from it leaves the row)."""
    bit_generator = np.random.PCG64()
    state: Any = state_from_row(rows, i)  # numpy types the setter as a TypedDict
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def rows_from_seeds(seeds: Sequence[int]) -> NDArray[np.uint64]:
    """Rows (len(seeds), STATE_WIDTH) uint64 seeded as `np.random.default_rng(seed)` for each seed.

    Raises:
        ValueError: a seed is negative (numpy's SeedSequence rejects it).
    """
    rows = np.empty((len(seeds), STATE_WIDTH), dtype=np.uint64)
    for index, seed in enumerate(seeds):
        rows[index] = row_from_generator(np.random.default_rng(seed))
    return rows
