"""Self-play rollouts for Five: the games in progress, one decision of all of them, and T decisions into a storage.

The acting half of OpenAI Five's self-play (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement
Learning"), shared by the in-process loop (`selfplay.train_selfplay`) and the rollout workers (`distributed.py`).
A `Match` is G games in one `FiveVecEnv`; in each the learning team (blue in even games, red in odd ones: the team
frame makes the sides alike) is played by the current policy and the other team by the opponent the pool
(`pool.py`) drew when the game started: the latest policy (batched with the learners in one forward pass), a past
snapshot (one forward pass per version), or a scripted bot. `play_step` makes one decision of every game;
`collect_rollout` makes T of them into a preallocated `Storage`, and when a game ends records a win over a past
version in the pool (its quality score drops) and draws the game's next opponent from it, so opponents change only
between games. `match_state` / `restore_match` save and restore everything a match needs to continue exactly.

Shape legend: T num_steps, C = T / bptt chunks, G num_games, K heroes of a team, H = 10 hero slots, S state size,
R rows of one forward pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from fourfold.five.bots import ScriptedBot
from fourfold.five.env import FiveVecEnv, observation_dict
from fourfold.five.game.constants import HERO_SLOTS, HEROES_PER_TEAM
from fourfold.five.policy import OBS_KEYS, FivePolicy, team_observation
from fourfold.five.pool import Opponent, OpponentPool
from fourfold.five.rewards import COMPONENTS, RewardConfig
from fourfold.five.train import Stage

REWARD_NAMES = tuple(name for name, _ in COMPONENTS)


# --- the games in progress -----------------------------------------------------------------------------------


@dataclass
class Match:
    """G games in progress: the env, each game's learning team and opponent, and the recurrent states."""

    env: FiveVecEnv
    obs: dict[str, Any]
    heroes: int
    """K, heroes a team."""
    learner_team: NDArray[np.int64]
    """(G,) 0 blue or 1 red."""
    opponents: list[Opponent]
    learner_state: Tensor
    """(G, K, S)"""
    opponent_state: Tensor
    """(G, K, S) the state of policy opponents."""
    starts: NDArray[np.bool_]
    """(G,) the current observation is a game's first."""


def new_match(stage: Stage, num_games: int, seed: int, tau: float, opponents: list[Opponent], state_size: int) -> Match:
    """Fresh games of `stage` with the given opponents (one per game)."""
    env = FiveVecEnv(num_games, stage.game, RewardConfig(team_spirit=tau), seed=seed, copy_obs=False)
    obs, _ = env.reset(seed)
    k = stage.game.heroes_per_team
    return Match(
        env=env,
        obs=obs,
        heroes=k,
        learner_team=np.arange(num_games, dtype=np.int64) % 2,
        opponents=list(opponents),
        learner_state=torch.zeros(num_games, k, state_size),
        opponent_state=torch.zeros(num_games, k, state_size),
        starts=np.ones(num_games, dtype=bool),
    )


def past_versions_playing(match: Match) -> set[int]:
    """The past versions the games in progress play against (their snapshots must stay until those games end)."""
    return {o.version for o in match.opponents if o.kind == "past"}


@dataclass
class StepResult:
    """One decision of a match, from the learning team's side."""

    obs: dict[str, NDArray[Any]]
    """`OBS_KEYS` -> (G, K, ...) the learners' observation acted on."""
    starts: NDArray[np.bool_]
    """(G,) whether that observation was a game's first."""
    primary: NDArray[np.int64]
    target: NDArray[np.int64]
    offset: NDArray[np.int64]
    log_prob: NDArray[np.float32]
    value: NDArray[np.float32]
    """(G, K) each."""
    reward: NDArray[np.float32]
    """(G, K) the learners' rewards."""
    terminated: NDArray[np.bool_]
    """(G,)"""
    outcome: NDArray[np.float64]
    """(G,) of ended games: 1 learner won, 0.5 draw, 0 lost (NaN where still playing)."""
    components: dict[str, NDArray[np.float32]]
    """Reward component name -> (G, K) the learners' weighted raw component (`rewards.COMPONENTS`)."""


def play_step(
    match: Match,
    policy: FivePolicy,
    snapshots: dict[int, FivePolicy],
    bots: dict[str, ScriptedBot],
    generator: torch.Generator,
    deterministic: bool = False,
) -> StepResult:
    """Every game's next decision: the learners and policy opponents act, the bots act, the env steps."""
    env, k = match.env, match.heroes
    g = env.num_games
    games = np.arange(g, dtype=np.int64)
    opp_team = 1 - match.learner_team  # (G,)
    learner_obs = team_observation(match.obs, games, match.learner_team, k)  # (G, K, ...)
    latest = np.array([i for i, o in enumerate(match.opponents) if o.kind == "latest"], dtype=np.int64)
    # 1. The learners, with the latest-policy opponents in the same forward pass.
    rows_obs = learner_obs
    states = match.learner_state
    starts = match.starts
    if latest.size:
        opp_obs = team_observation(match.obs, latest, opp_team[latest], k)
        rows_obs = {key: np.concatenate([learner_obs[key], opp_obs[key]]) for key in OBS_KEYS}  # (R, K, ...)
        states = torch.cat([states, match.opponent_state[latest]])
        starts = np.concatenate([starts, match.starts[latest]])
    sample = policy.act(rows_obs, states, starts, deterministic, generator)
    primary = np.zeros((g, HERO_SLOTS), dtype=np.int64)  # (G, H) team-frame actions, noop where nobody acts
    target = np.zeros((g, HERO_SLOTS), dtype=np.int64)
    offset = np.zeros((g, HERO_SLOTS), dtype=np.int64)
    heroes = np.arange(k)[None, :]

    def place(rows: NDArray[np.int64], teams: NDArray[np.int64], p: Any, t: Any, o: Any) -> None:
        slots = teams[:, None] * HEROES_PER_TEAM + heroes  # (R, K)
        primary[rows[:, None], slots] = p
        target[rows[:, None], slots] = t
        offset[rows[:, None], slots] = o

    place(games, match.learner_team, sample.primary[:g], sample.target_index[:g], sample.offset_index[:g])
    match.learner_state = sample.state[:g]
    if latest.size:
        place(latest, opp_team[latest], sample.primary[g:], sample.target_index[g:], sample.offset_index[g:])
        match.opponent_state[latest] = sample.state[g:]
    # 2. Past snapshots, one forward pass each.
    for version in sorted(past_versions_playing(match)):
        rows = np.array([i for i, o in enumerate(match.opponents) if o.version == version and o.kind == "past"])
        opp_obs = team_observation(match.obs, rows, opp_team[rows], k)
        past = snapshots[version].act(opp_obs, match.opponent_state[rows], match.starts[rows], False, generator)
        place(rows, opp_team[rows], past.primary, past.target_index, past.offset_index)
        match.opponent_state[rows] = past.state
    # 3. Decode to core actions, then the bots write theirs over their team's slots.
    core_primary, core_target, core_point = env.decode(primary, target, offset)
    for name in sorted({o.name for o in match.opponents if o.kind == "bot"}):
        for team in (0, 1):
            rows = np.array(
                [
                    i
                    for i, o in enumerate(match.opponents)
                    if o.kind == "bot" and o.name == name and opp_team[i] == team
                ],
                dtype=np.int64,
            )
            if rows.size == 0:
                continue
            p, t, x = bots[name].act(env.state, rows, team)
            span = slice(team * HEROES_PER_TEAM, (team + 1) * HEROES_PER_TEAM)
            core_primary[rows, span] = p
            core_target[rows, span] = t
            core_point[rows, span] = x
    # 4. Step every game.
    obs, rewards, terminated, _, info = env.step_core(core_primary, core_target, core_point)
    match.obs = obs
    learner_slots = match.learner_team[:, None] * HEROES_PER_TEAM + heroes  # (G, K)
    reward = rewards[games[:, None], learner_slots]  # (G, K)
    winner = info["winner"]  # (G,)
    outcome = np.where(winner == match.learner_team, 1.0, np.where(winner == 2, 0.5, 0.0))
    outcome = np.where(terminated, outcome, np.nan)
    match.starts = terminated.copy()
    match.learner_state[torch.from_numpy(terminated)] = 0.0
    match.opponent_state[torch.from_numpy(terminated)] = 0.0
    return StepResult(
        obs=learner_obs,
        starts=np.array(starts[:g], dtype=bool),
        primary=sample.primary[:g],
        target=sample.target_index[:g],
        offset=sample.offset_index[:g],
        log_prob=sample.log_prob[:g],
        value=sample.value[:g],
        reward=reward,
        terminated=terminated,
        outcome=outcome,
        components={name: value[games[:, None], learner_slots] for name, value in info["reward_components"].items()},
    )


def match_state(match: Match, bots: dict[str, ScriptedBot]) -> dict[str, Any]:
    """Everything that makes `match` continue exactly after `restore_match`: the env's state, the games' learning
    teams, opponents and recurrent states, and the bots' memories."""
    return {
        "env": match.env.state_dict(),
        "learner_team": match.learner_team.copy(),
        "opponents": [tuple(o) for o in match.opponents],
        "learner_state": match.learner_state.clone(),
        "opponent_state": match.opponent_state.clone(),
        "starts": match.starts.copy(),
        "bots": {name: bot.state_dict() for name, bot in bots.items()},
    }


def restore_match(match: Match, state: dict[str, Any], bots: dict[str, ScriptedBot]) -> None:
    """Put a `match` made for the same stage back as `match_state` saved it (or the layout of checkpoints written
    before `FiveVecEnv.state_dict` existed)."""
    env = match.env
    if "env" in state:
        env.load_state_dict(state["env"])
    else:
        saved = {"game_state": state["game_state"], "starts": state["env_starts"], "seeds": state["env_seeds"]}
        env.load_state_dict({**saved, "seed": env.seed})
    match.obs = observation_dict(env.obs, env.copy_obs)
    match.learner_team = np.array(state["learner_team"], dtype=np.int64)
    match.opponents = [Opponent(str(k), str(n), int(v)) for k, n, v in state["opponents"]]  # type: ignore[arg-type]
    match.learner_state = state["learner_state"].clone()
    match.opponent_state = state["opponent_state"].clone()
    match.starts = np.array(state["starts"], dtype=bool)
    for name, memory in state["bots"].items():
        if isinstance(memory, dict):
            bots[name].load_state_dict(memory)
        else:
            retreating, enemy_dead, last_tick = memory
            bots[name].load_state_dict({"retreating": retreating, "enemy_dead": enemy_dead, "last_tick": last_tick})


# --- rollout storage ------------------------------------------------------------------------------------------


@dataclass
class Storage:
    """One iteration's rollout, preallocated: observations and actions of the learners, per step."""

    obs: dict[str, Tensor]
    """`OBS_KEYS` -> (T, G, K, ...)"""
    starts: Tensor
    """(T, G) bool"""
    actions: Tensor
    """(T, G, K, 3) primary, target, offset"""
    log_probs: Tensor
    values: Tensor
    rewards: Tensor
    """(T, G, K) each"""
    ended: Tensor
    """(T, G) float"""
    states: Tensor
    """(C, G, K, S) the learners' state before each chunk's first step."""


def allocate_storage(num_steps: int, bptt: int, match: Match) -> Storage:
    """Zeroed storage for `num_steps` decisions of every game of `match`, cut into chunks of `bptt` steps."""
    sample = team_observation(match.obs, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), match.heroes)
    g, k = match.env.num_games, match.heroes
    obs = {
        key: torch.zeros((num_steps, g, *sample[key].shape[1:]), dtype=torch.from_numpy(sample[key]).dtype)
        for key in OBS_KEYS
    }
    return Storage(
        obs=obs,
        starts=torch.zeros(num_steps, g, dtype=torch.bool),
        actions=torch.zeros(num_steps, g, k, 3, dtype=torch.long),
        log_probs=torch.zeros(num_steps, g, k),
        values=torch.zeros(num_steps, g, k),
        rewards=torch.zeros(num_steps, g, k),
        ended=torch.zeros(num_steps, g),
        states=torch.zeros(num_steps // bptt, g, k, match.learner_state.shape[-1]),
    )


# --- T decisions ----------------------------------------------------------------------------------------------


class GameResult(NamedTuple):
    """A game that ended: whom the learners played, and 1 won, 0.5 draw, 0 lost."""

    opponent: Opponent
    outcome: float


@dataclass
class Rollout:
    """What `collect_rollout` gathered besides the storage."""

    results: list[GameResult]
    """The games that ended, in the order they ended."""
    components: dict[str, float]
    """Reward component name -> the learners' weighted sum over the rollout (`rewards.COMPONENTS`)."""
    last_value: Tensor
    """(G, K) the value of the observation after the last step (the GAE bootstrap)."""
    seconds: float
    cpu_seconds: float
    """Wall and CPU time of this process for the rollout."""


def collect_rollout(
    match: Match,
    storage: Storage,
    policy: FivePolicy,
    snapshots: dict[int, FivePolicy],
    bots: dict[str, ScriptedBot],
    generator: torch.Generator,
    pool: OpponentPool,
    rng: np.random.Generator,
    bptt: int,
) -> Rollout:
    """T decisions of every game of `match` into `storage` (T its length); an ended game's win over a past version
    is recorded in `pool` and the game's next opponent drawn from it with `rng`."""
    started, cpu = time.perf_counter(), time.process_time()
    policy.eval()
    components = dict.fromkeys(REWARD_NAMES, 0.0)
    results: list[GameResult] = []
    for t in range(storage.rewards.shape[0]):
        if t % bptt == 0:
            storage.states[t // bptt] = match.learner_state
        step = play_step(match, policy, snapshots, bots, generator)
        for key in OBS_KEYS:
            storage.obs[key][t] = torch.from_numpy(step.obs[key])
        storage.starts[t] = torch.from_numpy(step.starts)
        storage.actions[t] = torch.from_numpy(np.stack([step.primary, step.target, step.offset], axis=-1))
        storage.log_probs[t] = torch.from_numpy(step.log_prob)
        storage.values[t] = torch.from_numpy(step.value)
        storage.rewards[t] = torch.from_numpy(step.reward)
        storage.ended[t] = torch.from_numpy(step.terminated.astype(np.float32))
        for name in REWARD_NAMES:
            components[name] += float(step.components[name].sum())
        for i in np.nonzero(step.terminated)[0]:
            opponent = match.opponents[i]
            results.append(GameResult(opponent, float(step.outcome[i])))
            pool.record_result(opponent, float(step.outcome[i]))
            match.opponents[i] = pool.sample(rng)
    # The bootstrap value of the observation after the last step.
    with torch.no_grad():
        games = np.arange(match.env.num_games)
        final_obs = team_observation(match.obs, games, match.learner_team, match.heroes)  # (G, K, ...)
        final = {key: torch.from_numpy(final_obs[key]) for key in OBS_KEYS}
        last = policy(final, match.learner_state, torch.from_numpy(match.starts)).value  # (G, K)
    return Rollout(results, components, last, time.perf_counter() - started, time.process_time() - cpu)
