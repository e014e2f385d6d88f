"""Presets and --hyperparams overrides."""

from __future__ import annotations

import pytest

from fourfold.core.config import ConfigError
from fourfold.rl.config import DQNConfig, PPOConfig, TrainConfig, apply_overrides
from fourfold.rl.presets import PRESETS, preset
from fourfold.rl.train import resolve


def test_overrides_parse_by_the_field_type() -> None:
    config = apply_overrides(
        PPOConfig(), ("learning_rate=1e-3", "num_envs=16", "anneal_lr=false", "hidden_sizes=32,32", "target_kl=0.02")
    )
    assert isinstance(config, PPOConfig)
    assert config.learning_rate == 1e-3 and config.num_envs == 16 and config.anneal_lr is False
    assert config.hidden_sizes == (32, 32) and config.target_kl == 0.02


@pytest.mark.parametrize(
    ("override", "message"),
    [("learning_rate", "is not name=value"), ("nope=1", "has no 'nope'"), ("num_envs=many", "does not parse")],
)
def test_bad_overrides_are_one_sentence(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_overrides(PPOConfig(), (override,))


def test_an_override_is_still_validated() -> None:
    with pytest.raises(ConfigError, match="num_minibatches"):
        apply_overrides(PPOConfig(), ("num_minibatches=7",))


def test_resolve_uses_the_preset_then_overrides_then_total_steps() -> None:
    spec = resolve(TrainConfig(algo="dqn", env="fourfold/CartPole-v1", hyperparams=("batch_size=32",), total_steps=10))
    assert isinstance(spec.algorithm, DQNConfig)
    assert spec.algorithm.learning_rate == PRESETS[("dqn", "CartPole-v1")].learning_rate
    assert spec.algorithm.batch_size == 32 and spec.algorithm.total_steps == 10
    assert preset("ppo", "SomethingElse-v0") == PPOConfig()


def test_every_preset_is_for_a_registered_task() -> None:
    import gymnasium

    import fourfold.gym  # noqa: F401

    for _algo, task in PRESETS:
        assert f"fourfold/{task}" in gymnasium.registry
