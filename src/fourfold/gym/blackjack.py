"""Blackjack-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

Beat the dealer: hit (1) to draw a card or stick (0) to let the dealer draw to 17 or more; +1 for a win, -1 for a
loss or a bust, 0 for a draw. Example 5.1 of Sutton & Barto (2018), "Reinforcement Learning: An Introduction", as
Gymnasium's `gymnasium/envs/toy_text/blackjack.py` defines it: an infinite deck, every card drawn as
`np_random.choice(deck)` from the env's own generator, the dealer's face-up suit (and J/Q/K for a ten) drawn at reset
for the picture, the options `natural` (1.5 for a winning natural) and `sab` (Sutton & Barto's rules: a natural
beats any non-natural dealer hand; overrides `natural`). Gymnasium registers Blackjack-v1 with `sab=True` and no time
limit, and so does fourfold. The observation is Gymnasium's tuple (player's total, dealer's face-up card, usable ace).

A hand is kept as its raw total (aces as 1), whether it holds an ace and its number of cards: enough for the total
with a usable ace (`hand_value`) and for naturals. `hand_value` and `stick_reward` are the one definition of the
rules: the single env and the NumPy reference call them in Python, the kernel compiled.

- `BlackjackEnv`: one env with Gymnasium's `player` and `dealer` card lists. Unlike Gymnasium (which asserts), a bad
  action raises `InvalidActionError`, and stepping after termination without reset raises `ResetNeededError`.
- `BlackjackVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see `vector.py`),
  step for step equal to `SyncVectorEnv` over `gymnasium.make("Blackjack-v1")` envs. Observations are
  SyncVectorEnv's: a tuple of three (N,) int64 arrays; `info["final_obs"]` holds tuples of ints.

Shape legend: N num_envs; hands (N, 9) int64 with the columns below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import env_guards, render, rng
from fourfold.gym.render import Frame
from fourfold.gym.vector import SAME_STEP, Backend, BatchedVectorEnv, autoreset, begin_episode, end_step

STICK, HIT = 0, 1
DECK = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10], dtype=np.int64)  # ace = 1; J, Q, K = 10
SUITS = ("C", "D", "H", "S")
FACES = ("J", "Q", "K")
# Columns of `hands`: raw totals, ace flags and card counts of both hands; the dealer's face-up card, its suit (an
# index of SUITS) and, for a ten, its face (an index of FACES, else -1).
PLAYER_TOTAL, PLAYER_ACE, PLAYER_CARDS, DEALER_TOTAL, DEALER_ACE, DEALER_CARDS, SHOWN, SUIT, FACE = range(9)

WIDTH, HEIGHT = 384, 376  # Gymnasium's screen
FELT: render.Color = (196, 216, 158)  # Gymnasium's
CARD: render.Color = (250, 250, 246)
CARD_BACK: render.Color = (60, 80, 160)
RED: render.Color = (200, 30, 40)
GAUGE: render.Color = (90, 110, 70)


def hand_value(total: int, has_ace: bool) -> int:
    """The hand's value: its raw total, plus 10 for a usable ace (one counted as 11 without busting)."""
    return total + 10 if has_ace and total + 10 <= 21 else total


def stick_reward(
    player_total: int,
    player_ace: bool,
    player_cards: int,
    dealer_total: int,
    dealer_ace: bool,
    dealer_cards: int,
    natural: bool,
    sab: bool,
) -> float:
    """The reward of sticking once the dealer has drawn: Gymnasium's `cmp(score(player), score(dealer))`, then its
    natural-blackjack rules (a natural is an ace and a ten-card, nothing else). Self-contained, so numba compiles it."""
    player_value = player_total + 10 if player_ace and player_total + 10 <= 21 else player_total
    dealer_value = dealer_total + 10 if dealer_ace and dealer_total + 10 <= 21 else dealer_total
    player_score = 0 if player_value > 21 else player_value
    dealer_score = 0 if dealer_value > 21 else dealer_value
    reward = (1.0 if player_score > dealer_score else 0.0) - (1.0 if player_score < dealer_score else 0.0)
    player_natural = player_cards == 2 and player_ace and player_total == 11
    dealer_natural = dealer_cards == 2 and dealer_ace and dealer_total == 11
    if sab and player_natural and not dealer_natural:
        reward = 1.0
    elif not sab and natural and player_natural and reward == 1.0:
        reward = 1.5
    return reward


_compiled_hand_value = numba.njit(cache=True)(hand_value)
_compiled_stick_reward = numba.njit(cache=True)(stick_reward)


def observation_space() -> spaces.Tuple:  # type: ignore[type-arg]
    """Gymnasium's: (player's value 0-31, dealer's face-up card 1-10, usable ace 0-1)."""
    return spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2)))


def _draw_suit(frame: Frame, suit: int, x: float, y: float, size: float) -> None:
    """A suit sign (clubs, diamonds, hearts, spades) of height about 2 * size centred on (x, y)."""
    color = RED if SUITS[suit] in "DH" else render.BLACK
    if SUITS[suit] == "D":
        render.fill_polygon(frame, [(x, y - size), (x + 0.7 * size, y), (x, y + size), (x - 0.7 * size, y)], color)
        return
    lobe = 0.45 * size
    sign = 1.0 if SUITS[suit] == "H" else -1.0  # hearts point down, spades and clubs up
    if SUITS[suit] == "C":
        for dx, dy in ((0.0, -0.45), (-0.45, 0.15), (0.45, 0.15)):
            render.fill_circle(frame, x + dx * size, y + dy * size, lobe, color)
    else:
        for dx in (-0.45, 0.45):
            render.fill_circle(frame, x + dx * size, y - sign * 0.3 * size, lobe, color)
        render.fill_polygon(frame, [(x - 0.9 * size, y - sign * 0.15 * size), (x + 0.9 * size, y - sign * 0.15 * size),
                                    (x, y + sign * size)], color)  # fmt: skip
    if SUITS[suit] in "CS":  # the stem
        render.fill_polygon(frame, [(x, y), (x + 0.35 * size, y + size), (x - 0.35 * size, y + size)], color)


def render_frame(player_value: int, usable_ace: bool, shown: int, suit: int, face: int) -> Frame:
    """A 384 x 376 frame: the dealer's face-up card (pips, or a large sign with 1-3 bars for J, Q, K) and face-down
    card, and the player's total as a gauge of 31 notches (the 21 line marked; an ace sign beside it if usable)."""
    frame = render.new_frame(WIDTH, HEIGHT, FELT)
    left, top, card_w, card_h = 96, 56, 96, 136
    render.fill_rectangle(frame, left, top, left + card_w, top + card_h, CARD)
    if face >= 0:
        _draw_suit(frame, suit, left + card_w / 2, top + card_h / 2, 26)
        for bar in range(face + 1):
            render.fill_rectangle(frame, left + 20, top + 12 + 8 * bar, left + card_w - 20, top + 16 + 8 * bar, GAUGE)
    else:
        for pip in range(shown):  # pips in two columns, or one large sign for an ace
            if shown == 1:
                _draw_suit(frame, suit, left + card_w / 2, top + card_h / 2, 26)
            else:
                _draw_suit(frame, suit, left + (pip % 2 * 0.5 + 0.25) * card_w, top + 22 + pip // 2 * 23, 9)
    render.fill_rectangle(frame, left + card_w + 16, top, left + 2 * card_w + 16, top + card_h, CARD_BACK)
    gauge_top = 240
    for notch in range(31):
        x = 30 + notch * 10.5
        color = GAUGE if notch < player_value else CARD
        render.fill_rectangle(
            frame, x, gauge_top, x + 8, gauge_top + 40, RED if notch == 20 and notch < player_value else color
        )
    render.draw_line(frame, 30 + 21 * 10.5 - 1.5, gauge_top - 8, 30 + 21 * 10.5 - 1.5, gauge_top + 48, RED, 2.0)
    if usable_ace:
        render.fill_rectangle(frame, 160, 300, 224, 364, CARD)
        _draw_suit(frame, 3, 192, 332, 20)
    return frame


class BlackjackEnv(gymnasium.Env[Any, np.int64]):
    """One hand of blackjack against the dealer: stick (0) or hit (1).

    Attributes:
        player, dealer: the cards of both hands (1 for an ace, 10 for tens and faces), as Gymnasium's.
        dealer_top_card_suit, dealer_top_card_value_str: the face-up card's suit ("C", "D", "H", "S") and name
            ("A", "2"-"9", "J", "Q", "K"), as Gymnasium's.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, render_mode: str | None = None, natural: bool = False, sab: bool = False) -> None:
        """A table that needs `reset()` before the first step; `natural` and `sab` as Gymnasium's (see the module).

        Raises:
            EnvArgumentError: a bad render_mode.
        """
        env_guards.check_render_mode(self, render_mode)
        self.natural, self.sab = bool(natural), bool(sab)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(2)
        self.observation_space = observation_space()
        self.player: list[int] = []
        self.dealer: list[int] = []
        self.dealer_top_card_suit = ""
        self.dealer_top_card_value_str = ""
        self._terminated = False

    def _draw(self) -> int:
        return int(self.np_random.choice(DECK))

    def _observation(self) -> tuple[int, int, int]:
        total, has_ace = sum(self.player), 1 in self.player
        return hand_value(total, has_ace), self.dealer[0], int(hand_value(total, has_ace) != total)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[int, int, int], dict[str, Any]]:
        """Deal two cards to the dealer, then two to the player, then draw the face-up card's suit (and J/Q/K for a
        ten); return the observation and `{}`."""
        super().reset(seed=seed)
        self.dealer = [self._draw(), self._draw()]
        self.player = [self._draw(), self._draw()]
        self.dealer_top_card_suit = str(self.np_random.choice(SUITS))
        shown = self.dealer[0]
        self.dealer_top_card_value_str = (
            "A" if shown == 1 else str(self.np_random.choice(FACES)) if shown == 10 else str(shown)
        )
        self._terminated = False
        return self._observation(), {}

    def step(self, action: int | np.integer[Any]) -> tuple[tuple[int, int, int], float, bool, bool, dict[str, Any]]:
        """Hit or stick; return the observation, reward, terminated, truncated (always False) and `{}`.

        Raises:
            ResetNeededError: before reset, or after the hand ended.
            InvalidActionError: `action` is not 0 or 1.
        """
        env_guards.check_running(self, self.player or None, self._terminated, "the hand ended")
        if env_guards.check_action(self, action) == HIT:
            self.player.append(self._draw())
            self._terminated = hand_value(sum(self.player), 1 in self.player) > 21
            reward = -1.0 if self._terminated else 0.0
        else:
            self._terminated = True
            while hand_value(sum(self.dealer), 1 in self.dealer) < 17:
                self.dealer.append(self._draw())
            reward = stick_reward(
                sum(self.player), 1 in self.player, len(self.player), sum(self.dealer), 1 in self.dealer,
                len(self.dealer), self.natural, self.sab,
            )  # fmt: skip
        return self._observation(), reward, self._terminated, False, {}

    def render(self) -> Frame | None:
        """A (376, 384, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if env_guards.state_to_render(self, self.player or None) is None:
            return None
        value, shown, usable = self._observation()
        face = FACES.index(self.dealer_top_card_value_str) if self.dealer_top_card_value_str in FACES else -1
        return render_frame(value, bool(usable), shown, SUITS.index(self.dealer_top_card_suit), face)


@numba.njit(cache=True)
def _draw(hands: NDArray[np.int64], generators: NDArray[np.uint64], i: int, total: int) -> None:
    """Draw a card (`np_random.choice(deck)`) into env i's hand whose columns start at `total` (total, ace, cards)."""
    card = DECK[rng.integers(generators, i, 0, 13)]  # what `choice` draws; calling `integers` is faster
    hands[i, total] += card
    if card == 1:
        hands[i, total + 1] = 1
    hands[i, total + 2] += 1


@numba.njit(cache=True)
def _deal(hands: NDArray[np.int64], generators: NDArray[np.uint64], i: int) -> None:
    """Reset env i as `BlackjackEnv.reset` draws: two dealer cards, two player cards, the suit, J/Q/K for a ten."""
    for column in range(hands.shape[1]):
        hands[i, column] = 0
    _draw(hands, generators, i, DEALER_TOTAL)
    hands[i, SHOWN] = hands[i, DEALER_TOTAL]
    _draw(hands, generators, i, DEALER_TOTAL)
    _draw(hands, generators, i, PLAYER_TOTAL)
    _draw(hands, generators, i, PLAYER_TOTAL)
    hands[i, SUIT] = rng.integers(generators, i, 0, 4)
    hands[i, FACE] = rng.integers(generators, i, 0, 3) if hands[i, SHOWN] == 10 else -1


@numba.njit(cache=True)
def _observe_env(hands: NDArray[np.int64], i: int, out: NDArray[np.int64]) -> None:
    """Write env i's observation (value, face-up card, usable ace) into row i of `out` (N, 3)."""
    value = _compiled_hand_value(hands[i, PLAYER_TOTAL], hands[i, PLAYER_ACE] == 1)
    out[i, 0] = value
    out[i, 1] = hands[i, SHOWN]
    out[i, 2] = 1 if value != hands[i, PLAYER_TOTAL] else 0


@numba.njit(cache=True)
def _step_kernel(
    hands: NDArray[np.int64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.int64],
    natural: bool,
    sab: bool,
    mode: int,
    max_episode_steps: int,
    now: float,
    episodes: NDArray[np.void],
    observations: NDArray[np.int64],
    rewards: NDArray[np.float64],
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    final_observations: NDArray[np.int64],
) -> int:
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (bad action i)."""
    num_envs = hands.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing
        if actions[i] != STICK and actions[i] != HIT:
            return -1 - i
    ended = 0
    for i in range(num_envs):
        if episodes[i].pending:  # NEXT_STEP: the last step ended env i's episode, this one resets it
            _deal(hands, generators, i)
            autoreset(episodes, i, now)
            rewards[i] = 0.0
            terminated[i] = False
            truncated[i] = False
        else:
            if actions[i] == HIT:
                _draw(hands, generators, i, PLAYER_TOTAL)
                term = _compiled_hand_value(hands[i, PLAYER_TOTAL], hands[i, PLAYER_ACE] == 1) > 21
                reward = -1.0 if term else 0.0
            else:
                term = True
                while _compiled_hand_value(hands[i, DEALER_TOTAL], hands[i, DEALER_ACE] == 1) < 17:
                    _draw(hands, generators, i, DEALER_TOTAL)
                reward = _compiled_stick_reward(
                    hands[i, PLAYER_TOTAL], hands[i, PLAYER_ACE] == 1, hands[i, PLAYER_CARDS],
                    hands[i, DEALER_TOTAL], hands[i, DEALER_ACE] == 1, hands[i, DEALER_CARDS], natural, sab,
                )  # fmt: skip
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    _observe_env(hands, i, final_observations)
                    _deal(hands, generators, i)
                    begin_episode(episodes, i, now)
        _observe_env(hands, i, observations)
    return ended


@numba.njit(cache=True)
def _reset_kernel(hands: NDArray[np.int64], generators: NDArray[np.uint64], mask: NDArray[np.bool_]) -> None:
    """Deal new hands to the envs in `mask` (N,) from their own generator rows."""
    for i in range(hands.shape[0]):
        if mask[i]:
            _deal(hands, generators, i)


class BlackjackVectorEnv(BatchedVectorEnv):
    """N blackjack tables stepped by one compiled kernel; `gymnasium.make_vec("fourfold/Blackjack-v1", num_envs=N)`.

    Attributes:
        hands: (N, 9) int64, both hands and the face-up card of every env (the columns of the module).
        natural, sab: as for `BlackjackEnv`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        natural: bool = False,
        sab: bool = False,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `natural` and `sab` (see `BlackjackEnv`)."""
        # The kernel writes observations as rows (N, 3) of a Box; the spaces users see are Gymnasium's tuples.
        super().__init__(
            num_envs=num_envs,
            single_observation_space=spaces.Box(0, 31, shape=(3,), dtype=np.int64),
            single_action_space=spaces.Discrete(2),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        self.single_observation_space = observation_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.natural, self.sab = bool(natural), bool(sab)
        self.hands = np.zeros((self.num_envs, 9), dtype=np.int64)  # (N, 9)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """As `BatchedVectorEnv.reset`; observations are a tuple of three (N,) int64 arrays."""
        observations, info = super().reset(seed=seed, options=options)
        return tuple(np.ascontiguousarray(observations.T)), info

    def step(
        self, actions: ArrayLike
    ) -> tuple[Any, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """As `BatchedVectorEnv.step`; observations are a tuple of three (N,) int64 arrays."""
        observations, rewards, terminated, truncated, info = super().step(actions)
        if "final_obs" in info:
            for index in np.flatnonzero(info["_final_obs"]):
                info["final_obs"][index] = tuple(int(value) for value in info["final_obs"][index])
        return tuple(np.ascontiguousarray(observations.T)), rewards, terminated, truncated, info

    def _compiled_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        ended: int = _step_kernel(
            self.hands, self._rng, actions, self.natural, self.sab, self._mode, self._max_steps, now,
            self._episodes, observations, rewards, terminated, truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        _reset_kernel(self.hands, self._rng, mask)

    def _reference_draw(self, generator: np.random.Generator, index: int, total: int) -> None:
        card = int(generator.choice(DECK))
        self.hands[index, total] += card
        self.hands[index, total + 1] |= card == 1
        self.hands[index, total + 2] += 1

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        rewards = np.zeros(self.num_envs)  # (N,)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)  # (N,)
        for index in map(int, np.flatnonzero(mask)):
            generator, hand = rng.generator_from_row(self._rng, index), self.hands[index]
            if actions[index] == HIT:
                self._reference_draw(generator, index, PLAYER_TOTAL)
                terminated[index] = hand_value(int(hand[PLAYER_TOTAL]), bool(hand[PLAYER_ACE])) > 21
                rewards[index] = -1.0 if terminated[index] else 0.0
            else:
                while hand_value(int(hand[DEALER_TOTAL]), bool(hand[DEALER_ACE])) < 17:
                    self._reference_draw(generator, index, DEALER_TOTAL)
                terminated[index] = True
                rewards[index] = stick_reward(
                    int(hand[PLAYER_TOTAL]), bool(hand[PLAYER_ACE]), int(hand[PLAYER_CARDS]), int(hand[DEALER_TOTAL]),
                    bool(hand[DEALER_ACE]), int(hand[DEALER_CARDS]), self.natural, self.sab,
                )  # fmt: skip
            self._rng[index] = rng.row_from_generator(generator)
        return rewards, terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        for index in map(int, np.flatnonzero(mask)):
            generator = rng.generator_from_row(self._rng, index)
            self.hands[index] = 0
            self._reference_draw(generator, index, DEALER_TOTAL)
            self.hands[index, SHOWN] = self.hands[index, DEALER_TOTAL]
            self._reference_draw(generator, index, DEALER_TOTAL)
            self._reference_draw(generator, index, PLAYER_TOTAL)
            self._reference_draw(generator, index, PLAYER_TOTAL)
            self.hands[index, SUIT] = SUITS.index(str(generator.choice(SUITS)))
            shown_ten = self.hands[index, SHOWN] == 10
            self.hands[index, FACE] = FACES.index(str(generator.choice(FACES))) if shown_ten else -1
            self._rng[index] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.int64]:
        totals = self.hands[:, PLAYER_TOTAL]  # (N,)
        usable = (self.hands[:, PLAYER_ACE] == 1) & (totals + 10 <= 21)  # (N,)
        return np.stack([np.where(usable, totals + 10, totals), self.hands[:, SHOWN], usable.astype(np.int64)], axis=1)

    def _render_env(self, index: int) -> Frame:
        observation = self._observe()[index]
        hand = self.hands[index]
        return render_frame(
            int(observation[0]), bool(observation[2]), int(hand[SHOWN]), int(hand[SUIT]), int(hand[FACE])
        )
