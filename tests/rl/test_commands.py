"""The commands around a trained run: watch (rl and gym --policy), table, the SB3 adapter, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fourfold.cli import main
from fourfold.core.errors import FourfoldError
from fourfold.gym.watch import WatchConfig as GymWatchConfig
from fourfold.gym.watch import watch as gym_watch
from fourfold.rl.config import TrainConfig
from fourfold.rl.table import TableConfig, table
from fourfold.rl.train import train
from fourfold.rl.watch import WatchConfig, watch


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    summary = train(
        TrainConfig(
            algo="ppo", env="fourfold/CartPole-v1", total_steps=1024, runs=runs, progress=False, eval_episodes=0
        )
    )
    return Path(summary.run)


def test_rl_watch_records_the_agent_into_the_run(cartpole_run: Path) -> None:
    summary = watch(WatchConfig(run=cartpole_run, max_steps=40))
    assert Path(summary.files[0]).parent == cartpole_run / "videos"
    assert all(Path(f).is_file() for f in summary.files)
    assert summary.frames == 41 or summary.episode_lengths


def test_gym_watch_plays_a_trained_policy(cartpole_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "agent"
    trained = gym_watch(GymWatchConfig(policy=cartpole_run, out=out, max_steps=30, num_envs=2))
    assert Path(f"{out}.gif").is_file()
    random = gym_watch(GymWatchConfig(out=tmp_path / "random", max_steps=30, num_envs=2))
    assert trained.frames >= 1 and random.frames >= 1
    with pytest.raises(FourfoldError, match="no such run folder"):
        gym_watch(GymWatchConfig(policy=tmp_path / "missing", out=out))


def test_cli_eval_prints_json(cartpole_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rl", "eval", str(cartpole_run), "--episodes", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 4 and result["env"] == "fourfold/CartPole-v1"


def test_cli_eval_of_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rl", "eval", str(tmp_path)]) == 1
    assert "is this an RL run folder" in capsys.readouterr().err


def test_table_trains_seeds_and_reports(tmp_path: Path) -> None:
    config = TableConfig(
        seeds=2,
        tasks=("CartPole-v1",),
        algos=("ppo",),
        jobs=1,
        runs=tmp_path,
        out=tmp_path / "table",
        eval_episodes=3,
        total_steps=1024,
    )
    summary = table(config)
    assert len(summary.cells) == 1 and len(summary.cells[0].eval_returns) == 2
    assert "| CartPole-v1 | PPO | ≥ 475 |" in (tmp_path / "table" / "table.md").read_text()
    assert (tmp_path / "table" / "evaluation" / "report.html").is_file()
    assert (tmp_path / "table" / "training" / "report.html").is_file()


def test_stable_baselines3_trains_on_a_fourfold_env() -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    from fourfold.rl.sb3 import make_sb3_env

    env = make_sb3_env("fourfold/CartPole-v1", num_envs=4, seed=0)
    model = sb3.PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256
    assert len(model.ep_info_buffer) > 0  # episode statistics reach SB3's logger
    observations = env.reset()
    actions, _ = model.predict(observations, deterministic=True)
    observations, rewards, dones, infos = env.step(actions)
    assert observations.shape == (4, 4) and rewards.shape == (4,) and dones.shape == (4,)
    for _ in range(200):
        observations, rewards, dones, infos = env.step(np.zeros(4, dtype=np.int64))
        if dones.any():
            i = int(np.flatnonzero(dones)[0])
            assert infos[i]["terminal_observation"].shape == (4,)
            assert "episode" in infos[i] and infos[i]["TimeLimit.truncated"] is False
            break
    else:
        pytest.fail("no episode ended")


def test_contract_train_out_and_eval_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "my-run"
    args = ["rl", "train", "--algo", "ppo", "--env", "fourfold/CartPole-v1", "--seed", "0", "--out", str(out)]
    assert main([*args, "--total-steps", "1024", "--eval-episodes", "0", "--json"]) == 0
    capsys.readouterr()
    assert (out / "config.json").is_file() and (out / "metrics.jsonl").is_file()
    assert main(["rl", "eval", str(out), "--episodes", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 20 and {"mean_return", "std_return"} <= set(result)


def test_corrupt_run_folders_are_one_sentence(
    cartpole_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(cartpole_run, broken)
    (broken / "config.json").write_text("{not json")
    assert main(["rl", "eval", str(broken)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    shutil.rmtree(broken)
    shutil.copytree(cartpole_run, broken)
    checkpoint = next((broken / "checkpoints").iterdir())
    (checkpoint / "model.safetensors").write_bytes(b"garbage")
    assert main(["rl", "eval", str(broken)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "\n" not in error
    shutil.rmtree(broken / "checkpoints")
    (broken / "checkpoints").mkdir()
    assert main(["rl", "watch", str(broken)]) == 1
    assert "has no checkpoint yet" in capsys.readouterr().err


def test_unknown_env_and_wrong_algorithm_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rl", "train", "--env", "fourfold/Nope-v0", "--runs", str(tmp_path)]) == 1
    assert "unknown env 'fourfold/Nope-v0'" in capsys.readouterr().err
    assert main(["rl", "train", "--algo", "dqn", "--env", "fourfold/Pendulum-v1", "--runs", str(tmp_path)]) == 1
    assert "DQN needs discrete actions" in capsys.readouterr().err
