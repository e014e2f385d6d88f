"""Agents: specs (bot names, checkpoint and run folders, clear errors), and a policy agent's actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fourfold.five.agents import (
    AgentSpecError,
    BotAgent,
    PolicyAgent,
    agent_from_spec,
    checkpoint_game_config,
    resolve_checkpoint,
    run_checkpoints,
)
from fourfold.five.bots import BOT_NAMES
from fourfold.five.env import FiveVecEnv
from fourfold.five.game.config import GameConfig


def _save(path: Path, seed: int = 0) -> Path:
    import torch

    from fourfold.five.policy import FivePolicy, PolicyConfig, save_policy

    torch.manual_seed(seed)
    policy = FivePolicy(PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    return save_policy(path, policy, step=int(path.name.split("_")[-1]) if "_" in path.name else 0)


def test_bot_names_give_bot_agents() -> None:
    for name in BOT_NAMES:
        agent = agent_from_spec(name, seed=4)
        assert isinstance(agent, BotAgent) and agent.name == name


@pytest.mark.parametrize("spec", ["hardest", "", "no/such/run"])
def test_a_bad_spec_is_one_sentence_naming_the_bots(spec: str) -> None:
    with pytest.raises(AgentSpecError) as raised:
        agent_from_spec(spec)
    message = str(raised.value)
    assert all(name in message for name in BOT_NAMES)
    assert repr(spec) in message and "\n" not in message


def test_a_folder_without_checkpoints_is_refused(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(AgentSpecError, match="neither a scripted bot"):
        agent_from_spec(str(tmp_path))
    with pytest.raises(AgentSpecError, match="holds no checkpoints"):
        run_checkpoints(tmp_path)


def test_checkpoint_and_run_folders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = _save(run / "checkpoints" / "step_00000010", seed=1)
    last = _save(run / "checkpoints" / "step_00000020", seed=2)
    assert resolve_checkpoint(run) == last
    assert resolve_checkpoint(first) == first
    assert [step for step, _ in run_checkpoints(run)] == [10, 20]
    agent = agent_from_spec(str(run), seed=3)
    assert isinstance(agent, PolicyAgent) and agent.name == "run/step_00000020"
    assert isinstance(agent_from_spec(str(first)), PolicyAgent)
    assert checkpoint_game_config(first) is None  # a bare policy does not say what it trained on


def test_policy_agent_gives_valid_core_actions_for_either_team(tmp_path: Path) -> None:
    path = _save(tmp_path / "step_00000001")
    agent = PolicyAgent(path, seed=0)
    env = FiveVecEnv(3, GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=30.0), seed=2, auto_reset=False)
    env.reset()
    agent.reset(3)
    for _ in range(20):
        blue = agent.act(env, 0)
        red = agent.act(env, 1)
        for primary, target, point in (blue, red):
            assert primary.shape == target.shape == (3, 5) and point.shape == (3, 5, 2)
            assert (primary[:, 3:] == 0).all()  # slots a 3v3 game leaves empty get a noop
        primary = np.concatenate([blue[0], red[0]], axis=1)
        target = np.concatenate([blue[1], red[1]], axis=1)
        point = np.concatenate([blue[2], red[2]], axis=1)
        env.step_core(primary, target, point)  # the rules reject an invalid action
    assert set(agent._state) == {0, 1}  # one recurrent state per team it plays
    agent.observe_done(np.array([True, False, False]))
    assert agent._starts[0].tolist() == [True, False, False]


def test_a_training_checkpoint_says_which_game_it_played(tmp_path: Path) -> None:
    import torch

    from fourfold.core.checkpoint import save_checkpoint
    from fourfold.five.policy import FivePolicy, PolicyConfig
    from fourfold.five.train import CHECKPOINT_KIND, TrainConfig

    config = TrainConfig(policy=PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    torch.manual_seed(0)
    path = save_checkpoint(
        tmp_path / "checkpoints" / "step_00000005",
        model=FivePolicy(config.policy).state_dict(),
        config=config,
        state={"counters": {"stage": 1}},
        step=5,
        kind=CHECKPOINT_KIND,
    )
    stage = config.curriculum[1]
    assert checkpoint_game_config(path) == stage.game
    assert isinstance(agent_from_spec(str(tmp_path)), PolicyAgent)
