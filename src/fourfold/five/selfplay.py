"""Self-play PPO for Five (OpenAI Five: Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning").

`train_selfplay` is the loop, one function with numbered phases: G games run at once in a `FiveVecEnv`; in each the
learning team (blue in even games, red in odd ones: the team frame makes the sides alike) is played by the current
policy and the other team by the opponent the pool (`pool.py`) drew when the game started: the latest policy (80 %
of self-play games, batched with the learner in one forward pass), a past snapshot (20 %, sampled by quality
score, whose score drops when the learner beats it), or a scripted bot (`bot_share` of all games). Team-frame
actions of the policies are decoded (`env.decode`), the bots' core-level actions written over their team's slots,
and all games stepped with `env.step_core`.

Each iteration rolls out T decisions of every game, then runs PPO (Schulman et al. 2017): GAE (lambda 0.95) on
Five's rewards (`rewards.py`: weighted components, zero-sum, time decay, team spirit tau annealed 0.3 -> 1.0 as
in Five), the clipped objective (0.2) over recurrent minibatches of `bptt`-step sequences whose state starts
from the one stored in the rollout and is zeroed where an episode starts, 1-2 epochs, an annealed entropy bonus.
Observations are normalised by running statistics inside the policy. The curriculum (`train.Stage`) goes from 1v1
on the one-lane map to 3v3 and 5v5, moving on after a number of steps or once the win rate against `easy` is high.

Everything a resumed run needs is checkpointed: policy, optimizer, random streams, pool and snapshots, the games in
progress (the env's state, each game's opponent, the recurrent states, the bots' memories), the win histories.

Shape legend: T num_steps, C = T / bptt chunks, L = bptt, G num_games, K heroes of a team, H = 10 hero slots,
S state size, M sequences per minibatch.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import shutil
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from fourfold.core.checkpoint import (
    Checkpoint,
    checkpoint_path,
    load_model_state,
    prune_checkpoints,
    save_checkpoint,
)
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run
from fourfold.five.bots import BOT_NAMES, ScriptedBot, make_bot
from fourfold.five.env import FiveVecEnv, observation_dict
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HERO_SLOTS, HEROES_PER_TEAM
from fourfold.five.game.observe import build_observations
from fourfold.five.policy import OBS_KEYS, FivePolicy, joint_log_prob, load_policy, save_policy, team_observation
from fourfold.five.pool import LATEST, Opponent, OpponentPool
from fourfold.five.rewards import COMPONENTS, RewardConfig
from fourfold.five.train import CHECKPOINT_KIND, Stage, TrainConfig
from fourfold.rl.advantages import gae

REWARD_NAMES = tuple(name for name, _ in COMPONENTS)


@dataclass(frozen=True)
class SelfPlayResult:
    """How `train_selfplay` ended."""

    steps: int
    iterations: int
    seconds: float
    steps_per_second: float
    stage: str
    win_rates: dict[str, float]
    games: int


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


def stage_game_config(stage: Stage) -> GameConfig:
    return GameConfig(map=stage.map, heroes_per_team=stage.heroes_per_team, time_cap_seconds=stage.time_cap_seconds)


def new_match(stage: Stage, num_games: int, seed: int, tau: float, opponents: list[Opponent], state_size: int) -> Match:
    """Fresh games of `stage` with the given opponents (one per game)."""
    env = FiveVecEnv(num_games, stage_game_config(stage), RewardConfig(team_spirit=tau), seed=seed, copy_obs=False)
    obs, _ = env.reset(seed)
    k = stage.heroes_per_team
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
        rows_obs = {key: np.concatenate([learner_obs[key], opp_obs[key]]) for key in OBS_KEYS}
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
    for version in sorted({o.version for o in match.opponents if o.kind == "past"}):
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
    """Everything that makes `match` continue exactly after `restore_match` (the env's private counters and the bots'
    memories included: FiveVecEnv and ScriptedBot have no state API yet)."""
    env = match.env
    return {
        "game_state": {name: np.array(a) for name, a in zip(env.state._fields, env.state, strict=True)},
        "env_starts": env._starts.copy(),
        "env_seeds": env._seeds.copy(),
        "learner_team": match.learner_team.copy(),
        "opponents": [tuple(o) for o in match.opponents],
        "learner_state": match.learner_state.clone(),
        "opponent_state": match.opponent_state.clone(),
        "starts": match.starts.copy(),
        "bots": {
            name: [bot._retreating.copy(), bot._enemy_dead.copy(), bot._last_tick.copy()] for name, bot in bots.items()
        },
    }


def restore_match(match: Match, state: dict[str, Any], bots: dict[str, ScriptedBot]) -> None:
    """Put a `match` made for the same stage back as `match_state` saved it."""
    env = match.env
    for name, array in zip(env.state._fields, env.state, strict=True):
        array[...] = state["game_state"][name]
    env._starts[:] = state["env_starts"]
    env._seeds[:] = state["env_seeds"]
    build_observations(env.state, env.config.map, env.obs)
    match.obs = observation_dict(env.obs, env.copy_obs)
    match.learner_team = np.array(state["learner_team"], dtype=np.int64)
    match.opponents = [Opponent(str(k), str(n), int(v)) for k, n, v in state["opponents"]]  # type: ignore[arg-type]
    match.learner_state = state["learner_state"].clone()
    match.opponent_state = state["opponent_state"].clone()
    match.starts = np.array(state["starts"], dtype=bool)
    for name, (retreating, enemy_dead, last_tick) in state["bots"].items():
        bots[name]._retreating = np.array(retreating)
        bots[name]._enemy_dead = np.array(enemy_dead)
        bots[name]._last_tick = np.array(last_tick)


def evaluate_vs_bot(
    policy: FivePolicy,
    bot: str,
    num_games: int,
    stage: Stage,
    seed: int,
    deterministic: bool = False,
) -> float:
    """The policy's score (wins + draws / 2) / games over `num_games` games against the scripted `bot` on `stage`,
    sides alternating, each of min(num_games, 64) parallel games counted once per game it finishes."""
    parallel = min(num_games, 64)
    opponents = [Opponent("bot", bot, -1)] * parallel
    match = new_match(stage, parallel, seed, 0.3, opponents, policy.config.state_size)
    bots = {bot: make_bot(bot, seed)}
    generator = torch.Generator().manual_seed(seed)
    results: list[float] = []
    while len(results) < num_games:
        step = play_step(match, policy, {}, bots, generator, deterministic)
        results.extend(float(x) for x in step.outcome[step.terminated])
    return float(np.mean(results[:num_games]))


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


def _sequences(x: Tensor, chunks: int) -> Tensor:
    """(T, G, ...) -> (L, C * G, ...): the rollout cut into C sequences of L steps per game."""
    t, g = x.shape[:2]
    length = t // chunks
    return x.reshape(chunks, length, g, *x.shape[2:]).transpose(0, 1).reshape(length, chunks * g, *x.shape[2:])


# --- the loop -------------------------------------------------------------------------------------------------


def _schedule(start: float, end: float, step: int, steps: int) -> float:
    return start + (end - start) * min(1.0, step / max(1, steps))


def _win_rates(history: dict[str, list[float]]) -> dict[str, float]:
    return {name: float(np.mean(results)) for name, results in history.items() if results}


def train_selfplay(config: TrainConfig, run: Run, checkpoint: Checkpoint | None) -> SelfPlayResult:
    """Train as `config` says, logging to `run`, continuing `checkpoint` when given (see the module docstring)."""
    # 1. Policy, optimizer, random streams, pool, bots, counters.
    torch.manual_seed(config.seed)
    policy = FivePolicy(config.policy)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)
    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    pool = OpponentPool(config.pool)
    pool_dir = run.directory / "pool"
    snapshots: dict[int, FivePolicy] = {}
    bots = {name: make_bot(name, config.seed + i) for i, name in enumerate(BOT_NAMES)}
    history: dict[str, list[float]] = {}
    counters = {"iteration": 0, "global_step": 0, "stage": 0, "stage_start": 0, "games": 0}
    saved_match: dict[str, Any] | None = None
    if checkpoint is not None:
        load_model_state(policy, checkpoint.model, str(checkpoint.path))
        state = checkpoint.state
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        rng.bit_generator.state = state["rng"]
        pool.load_state_dict(state["pool"])
        history = {name: list(results) for name, results in state["history"].items()}
        counters = {name: int(value) for name, value in state["counters"].items()}
        saved_match = state["match"]
        for version in pool.versions:
            snapshots[version], _ = load_policy(checkpoint_path(pool_dir, version))

    def tau_at(step: int) -> float:
        return _schedule(config.team_spirit_start, config.team_spirit_end, step, config.team_spirit_steps)

    def start_stage(fresh: bool) -> Match:
        stage = config.curriculum[counters["stage"]]
        opponents = [pool.sample(rng) if fresh else LATEST for _ in range(config.num_games)]
        seed = config.seed + 1_000 * counters["stage"]
        tau = tau_at(counters["global_step"])
        return new_match(stage, config.num_games, seed, tau, opponents, config.policy.state_size)

    match = start_stage(fresh=saved_match is None)
    if saved_match is not None:
        restore_match(match, saved_match, bots)
    storage = allocate_storage(config.num_steps, config.bptt, match)
    chunks = config.num_steps // config.bptt
    sequences = chunks * config.num_games
    minibatch = math.ceil(sequences / config.num_minibatches)  # M
    started = time.perf_counter()
    start_step = counters["global_step"]
    iterations_here = 0
    total = config.total_steps

    with ProgressBar(total, "five", unit="step", enabled=config.progress) as bar:
        bar.advance(counters["global_step"])
        while True:
            # 2. Schedules: team spirit (into the env's rewards) and the entropy bonus.
            step0 = counters["global_step"]
            tau = tau_at(step0)
            stage_reward = config.curriculum[counters["stage"]].reward
            reward = stage_reward if stage_reward is not None else config.reward
            match.env.reward_config = dataclasses.replace(reward, team_spirit=tau)
            ent_coef = _schedule(config.ent_coef, config.ent_coef_final, step0, config.anneal_steps)
            k = match.heroes
            policy.eval()

            # 3. Roll out T decisions of every game; new opponents are drawn only when a game ends.
            rollout_start, rollout_cpu = time.perf_counter(), time.process_time()
            component_sums = dict.fromkeys(REWARD_NAMES, 0.0)
            for t in range(config.num_steps):
                if t % config.bptt == 0:
                    storage.states[t // config.bptt] = match.learner_state
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
                    component_sums[name] += float(step.components[name].sum())
                for i in np.nonzero(step.terminated)[0]:
                    opponent = match.opponents[i]
                    key = opponent.name if opponent.kind == "bot" else opponent.kind
                    history.setdefault(key, []).append(float(step.outcome[i]))
                    del history[key][: -config.win_window]
                    if opponent.kind == "past" and step.outcome[i] == 1.0:
                        pool.record_win(opponent.version)
                    match.opponents[i] = pool.sample(rng)
                    counters["games"] += 1
            with torch.no_grad():
                final_obs = team_observation(match.obs, np.arange(config.num_games), match.learner_team, k)
                final = {key: torch.from_numpy(final_obs[key]) for key in OBS_KEYS}
                last = policy(final, match.learner_state, torch.from_numpy(match.starts)).value  # (G, K)
            rollout_seconds = time.perf_counter() - rollout_start
            rollout_cpu = time.process_time() - rollout_cpu

            # 4. Advantages (GAE) per hero.
            learn_start, learn_cpu = time.perf_counter(), time.process_time()
            ended = storage.ended.unsqueeze(-1).expand(-1, -1, k)  # (T, G, K)
            following = torch.cat([storage.values[1:], last.unsqueeze(0)])  # (T, G, K)
            next_values = following * (1.0 - ended)
            advantages, returns = gae(
                storage.rewards, storage.values, next_values, ended, config.gamma, config.gae_lambda
            )

            # 5. PPO over recurrent minibatches of bptt-step sequences.
            policy.train()
            seq_obs = {key: _sequences(value, chunks) for key, value in storage.obs.items()}  # (L, C*G, K, ...)
            seq_starts = _sequences(storage.starts, chunks)  # (L, C*G)
            seq_actions = _sequences(storage.actions, chunks)  # (L, C*G, K, 3)
            seq_log_probs = _sequences(storage.log_probs, chunks)
            seq_advantages = _sequences(advantages, chunks)
            seq_returns = _sequences(returns, chunks)
            seq_states = storage.states.reshape(sequences, k, -1)  # (C*G, K, S), chunk-major like _sequences
            stats = dict.fromkeys(("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "grad_norm"), 0.0)
            updates = 0
            for _epoch in range(config.update_epochs):
                order = torch.randperm(sequences, generator=generator)
                for first in range(0, sequences, minibatch):
                    index = order[first : first + minibatch]  # (M,)
                    obs = {key: value[:, index] for key, value in seq_obs.items()}
                    out = policy(obs, seq_states[index], seq_starts[:, index])
                    actions = seq_actions[:, index]
                    log_prob, entropy = joint_log_prob(out, actions[..., 0], actions[..., 1], actions[..., 2])
                    log_ratio = log_prob - seq_log_probs[:, index]
                    ratio = log_ratio.exp()
                    adv = seq_advantages[:, index]
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                    policy_loss = torch.max(
                        -adv * ratio, -adv * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
                    )
                    policy_loss = policy_loss.mean()
                    value_loss = 0.5 * ((out.value - seq_returns[:, index]) ** 2).mean()
                    entropy_mean = entropy.mean()
                    loss = policy_loss + config.vf_coef * value_loss - ent_coef * entropy_mean
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    grad_norm = nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                    optimizer.step()
                    with torch.no_grad():
                        stats["policy_loss"] += policy_loss.item()
                        stats["value_loss"] += value_loss.item()
                        stats["entropy"] += entropy_mean.item()
                        stats["approx_kl"] += ((ratio - 1) - log_ratio).mean().item()
                        stats["clipfrac"] += ((ratio - 1.0).abs() > config.clip_coef).float().mean().item()
                        stats["grad_norm"] += float(grad_norm)
                    updates += 1
            # The normaliser learns from this rollout only now: updated before the PPO step, it would change the
            # policy the stored log-probabilities came from (ratios != 1 before any gradient step).
            policy.update_normalizer(storage.obs)
            learn_seconds = time.perf_counter() - learn_start
            learn_cpu = time.process_time() - learn_cpu
            batch_steps = config.num_steps * config.num_games * k
            counters["global_step"] += batch_steps
            counters["iteration"] += 1
            iterations_here += 1

            # 6. Snapshots into the pool.
            if counters["iteration"] % config.snapshot_every == 0:
                version = counters["global_step"]
                snapshots[version] = copy.deepcopy(policy).eval()
                save_policy(checkpoint_path(pool_dir, version), policy, step=version)
                for dropped in pool.add(version):
                    snapshots.pop(dropped, None)
                    shutil.rmtree(checkpoint_path(pool_dir, dropped), ignore_errors=True)

            # 7. Log: losses, speeds, win rates per kind of opponent.
            elapsed = time.perf_counter() - started
            rates = _win_rates(history)
            stage = config.curriculum[counters["stage"]]
            variance = returns.var()
            explained = 1.0 - float((returns - storage.values).var() / variance) if variance > 0 else float("nan")
            metrics: dict[str, float] = {
                "train/stage": float(counters["stage"]),
                "train/team_spirit": tau,
                "train/ent_coef": ent_coef,
                "train/games": float(counters["games"]),
                "train/pool_size": float(len(pool.versions)),
                "train/mean_reward": float(storage.rewards.mean()),
                "train/explained_variance": explained,
                **{f"losses/{name}": value / max(1, updates) for name, value in stats.items()},
                **{f"win_rate/{name}": rate for name, rate in rates.items()},
                # What the learners collect, per 1000 agent-steps (weighted, before team spirit, zero-sum, decay).
                **{f"reward/{name}": 1000.0 * value / batch_steps for name, value in component_sums.items()},
                "time/agent_steps_per_second": (counters["global_step"] - start_step) / max(elapsed, 1e-9),
                "time/rollout_steps_per_second": batch_steps / max(rollout_seconds, 1e-9),
                "time/learner_steps_per_second": batch_steps / max(learn_seconds, 1e-9),
                "time/agent_steps_per_cpu_second": batch_steps / max(rollout_cpu + learn_cpu, 1e-9),
                "time/rollout_steps_per_cpu_second": batch_steps / max(rollout_cpu, 1e-9),
                "time/learner_steps_per_cpu_second": batch_steps / max(learn_cpu, 1e-9),
                "time/rollout_seconds": rollout_seconds,
                "time/learner_seconds": learn_seconds,
            }
            run.log(counters["global_step"], metrics)
            bar.advance(batch_steps)
            bar.set_postfix(f"{stage.name} " + " ".join(f"{name} {rate:.0%}" for name, rate in sorted(rates.items())))

            # 8. Curriculum: the next stage after its step budget or a high win rate against the advance bot.
            in_stage = counters["global_step"] - counters["stage_start"]
            recent = history.get(config.advance_bot, [])[-config.advance_games :]
            good = len(recent) >= config.advance_games and float(np.mean(recent)) >= config.advance_win_rate
            if counters["stage"] + 1 < len(config.curriculum) and (
                good or (stage.max_steps > 0 and in_stage >= stage.max_steps)
            ):
                counters["stage"] += 1
                counters["stage_start"] = counters["global_step"]
                history = {}
                match = start_stage(fresh=True)
                storage = allocate_storage(config.num_steps, config.bptt, match)

            # 9. Stop and checkpoint.
            done = (
                (total is not None and counters["global_step"] >= total)
                or (config.minutes is not None and elapsed >= config.minutes * 60.0)
                or (config.stop_after_iterations is not None and iterations_here >= config.stop_after_iterations)
            )
            if done or counters["iteration"] % config.checkpoint_every == 0:
                state = {
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "rng": rng.bit_generator.state,
                    "pool": pool.state_dict(),
                    "history": history,
                    "counters": counters,
                    "match": match_state(match, bots),
                }
                save_checkpoint(
                    checkpoint_path(run.checkpoints, counters["global_step"]),
                    model=policy.state_dict(),
                    config=config,
                    state=state,
                    step=counters["global_step"],
                    kind=CHECKPOINT_KIND,
                )
                prune_checkpoints(run.checkpoints, config.keep_checkpoints)
            if done:
                break
    seconds = time.perf_counter() - started
    return SelfPlayResult(
        steps=counters["global_step"],
        iterations=counters["iteration"],
        seconds=seconds,
        steps_per_second=(counters["global_step"] - start_step) / max(seconds, 1e-9),
        stage=config.curriculum[counters["stage"]].name,
        win_rates=_win_rates(history),
        games=counters["games"],
    )
