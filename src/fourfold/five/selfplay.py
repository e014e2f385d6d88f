"""Self-play PPO for Five in one process (OpenAI Five: Berner et al. 2019, "Dota 2 with Large Scale Deep
Reinforcement Learning").

`train_selfplay` is the loop, one function with numbered phases: G games run at once in one `FiveVecEnv`
(`rollout.Match`); in each the learning team is played by the current policy and the other by the opponent the pool
(`pool.py`) drew when the game started: the latest policy (80 % of self-play games, batched with the learner in one
forward pass), a past snapshot (20 %, sampled by quality score, whose score drops when the learner beats it), or a
scripted bot (`bot_share` of all games). Each iteration rolls out T decisions of every game (`rollout.collect_rollout`)
and runs PPO on them (`ppo.ppo_update`: GAE, the clipped objective over recurrent minibatches, the normaliser) on
Five's rewards (`rewards.py`: weighted components, zero-sum, time decay, team spirit tau annealed 0.3 -> 1.0 as in
Five), with an annealed entropy bonus. The curriculum (`train.Stage`) goes from 1v1 on the small map to 3v3 and 5v5,
moving on after a number of steps or once the win rate against `easy` is high. The learner's bookkeeping (schedules,
win rates, snapshots, curriculum, metrics, checkpoints) is `learner.py`, shared with the rollout workers' learner
(`distributed.py`, `TrainConfig.workers` >= 1).

Everything a resumed run needs is checkpointed: policy, optimizer, random streams, pool and snapshots, the games in
progress (the env's state, each game's opponent, the recurrent states, the bots' memories), the win histories; a
resumed run logs the same metrics as an uninterrupted one.
"""

from __future__ import annotations

import time

import numpy as np

from fourfold.core.checkpoint import Checkpoint
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.learner import (
    SelfPlayResult,
    advance_curriculum,
    entropy_coef,
    iteration_metrics,
    load_snapshots,
    new_learner,
    record_games,
    release_snapshots,
    save_learner,
    should_stop,
    speed_metrics,
    stage_learning_rate,
    stage_reward,
    take_snapshot,
    team_spirit,
    win_rates,
)
from fourfold.five.pool import LATEST
from fourfold.five.ppo import ppo_update
from fourfold.five.rollout import (
    Match,
    allocate_storage,
    collect_rollout,
    match_state,
    new_match,
    past_versions_playing,
    restore_match,
)
from fourfold.five.train import TrainConfig


def train_selfplay(config: TrainConfig, run: Run, checkpoint: Checkpoint | None) -> SelfPlayResult:
    """Train as `config` says, logging to `run`, continuing `checkpoint` when given (see the module docstring)."""
    # 1. The learner (policy, optimizer, random stream, pool, snapshots, counters), the opponents' random stream, bots.
    learner = new_learner(config, run.directory / "pool", checkpoint)
    policy, pool, counters = learner.policy, learner.pool, learner.counters
    rng = np.random.default_rng(config.seed)
    bots = {name: make_bot(name, config.seed + i) for i, name in enumerate(BOT_NAMES)}
    if checkpoint is not None:
        rng.bit_generator.state = checkpoint.state["rng"]

    def start_stage(fresh: bool) -> Match:
        stage = config.curriculum[counters["stage"]]
        pool.config = stage.pool_config(config.pool)
        opponents = [pool.sample(rng) if fresh else LATEST for _ in range(config.num_games)]
        seed = config.seed + 1_000 * counters["stage"]
        tau = team_spirit(config, counters["global_step"])
        return new_match(stage, config.num_games, seed, tau, opponents, config.policy.state_size)

    match = start_stage(fresh=checkpoint is None)
    if checkpoint is not None:
        restore_match(match, checkpoint.state["match"], bots)
        load_snapshots(learner, past_versions_playing(match))
    storage = allocate_storage(config.num_steps, config.bptt, match)
    started = time.perf_counter()
    start_step = counters["global_step"]
    iterations_here = 0

    with ProgressBar(config.total_steps, "five", unit="step", enabled=config.progress) as bar:
        bar.advance(counters["global_step"])
        while True:
            # 2. Schedules: team spirit (into the env's rewards, with the stage's weights), the entropy bonus and the
            # stage's step size.
            step0 = counters["global_step"]
            tau = team_spirit(config, step0)
            match.env.reward_config = stage_reward(config, counters["stage"], tau)
            ent_coef = entropy_coef(config, step0)
            learning_rate = stage_learning_rate(config, counters["stage"])

            # 3. Roll out T decisions of every game; new opponents are drawn only when a game ends.
            rollout = collect_rollout(
                match, storage, policy, learner.snapshots, bots, learner.generator, pool, rng, config.bptt
            )
            record_games(learner, rollout.results, config.win_window, record_wins=False)

            # 4. PPO: GAE per hero, epochs of recurrent minibatches, then the normaliser.
            learn_start, learn_cpu = time.perf_counter(), time.process_time()
            update = ppo_update(
                policy,
                learner.optimizer,
                storage,
                rollout.last_value,
                config,
                ent_coef,
                learning_rate,
                learner.generator,
            )
            learn = (time.perf_counter() - learn_start, time.process_time() - learn_cpu)
            batch_steps = config.num_steps * config.num_games * match.heroes
            counters["global_step"] += batch_steps
            counters["iteration"] += 1
            iterations_here += 1

            # 5. Snapshots into the pool; dropped ones go once no game plays them.
            if counters["iteration"] % config.snapshot_every == 0:
                take_snapshot(learner)
            release_snapshots(learner, past_versions_playing(match))

            # 6. Metrics: losses, speeds, win rates per kind of opponent (logged after the curriculum check).
            elapsed = time.perf_counter() - started
            rate = (counters["global_step"] - start_step) / max(elapsed, 1e-9)
            metrics = iteration_metrics(learner, tau, ent_coef, storage, update, rollout.components, batch_steps)
            metrics |= speed_metrics(batch_steps, rate, (rollout.seconds, rollout.cpu_seconds), learn)
            rates = win_rates(learner.history)
            stage_name = config.curriculum[counters["stage"]].name

            # 7. Curriculum: the next stage after its step budget, or once the policy beats the advance bot (in
            # training games, then in an exam of held-out games).
            advance = advance_curriculum(config, learner)
            if advance.exam is not None:
                metrics["curriculum/exam_win_rate"] = advance.exam
            run.log(counters["global_step"], metrics)
            bar.advance(batch_steps)
            bar.set_postfix(f"{stage_name} " + " ".join(f"{name} {r:.0%}" for name, r in sorted(rates.items())))
            if advance.moved:
                match = start_stage(fresh=True)
                storage = allocate_storage(config.num_steps, config.bptt, match)

            # 8. Stop and checkpoint.
            done = should_stop(config, learner, time.perf_counter() - started, iterations_here)
            if done or advance.moved or counters["iteration"] % config.checkpoint_every == 0:
                save_learner(run, config, learner, {"rng": rng.bit_generator.state, "match": match_state(match, bots)})
            if done:
                break
    seconds = time.perf_counter() - started
    return SelfPlayResult(
        steps=counters["global_step"],
        iterations=counters["iteration"],
        seconds=seconds,
        steps_per_second=(counters["global_step"] - start_step) / max(seconds, 1e-9),
        stage=config.curriculum[counters["stage"]].name,
        win_rates=win_rates(learner.history),
        games=counters["games"],
    )
