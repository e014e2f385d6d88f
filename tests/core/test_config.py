"""Config dataclasses: JSON round trip, type conversion, and errors that name the field."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from fourfold.core.config import ConfigError, from_jsonable, load_config, require, save_config, to_jsonable


class Precision(enum.Enum):
    FP32 = "fp32"
    BF16 = "bf16"


@dataclass
class OptimizerConfig:
    learning_rate: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)

    def __post_init__(self) -> None:
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")


@dataclass
class TrainConfig:
    name: str
    steps: int = 100
    out: Path = Path("runs/x")
    device: Literal["cpu", "cuda"] = "cpu"
    precision: Precision = Precision.FP32
    warmup: int | None = None
    layers: tuple[int, ...] = (1, 2)
    tags: list[str] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)

    def __post_init__(self) -> None:
        require(self.steps > 0, "steps", f"must be positive (got {self.steps})")


def test_round_trip_through_json_file(tmp_path: Path) -> None:
    config = TrainConfig(
        name="a",
        steps=7,
        out=Path("/tmp/o"),
        device="cuda",
        precision=Precision.BF16,
        warmup=3,
        layers=(4, 5, 6),
        tags=["x"],
        extra={"k": 1.5},
        optimizer=OptimizerConfig(learning_rate=1e-3, betas=(0.8, 0.9)),
    )
    path = save_config(config, tmp_path / "config.json")
    assert json.loads(path.read_text())["optimizer"]["betas"] == [0.8, 0.9]
    loaded = load_config(TrainConfig, path)
    assert loaded == config
    assert isinstance(loaded.layers, tuple) and isinstance(loaded.out, Path)
    assert loaded.precision is Precision.BF16


def test_defaults_fill_missing_fields_and_ints_widen_to_float() -> None:
    loaded = from_jsonable(TrainConfig, {"name": "b", "optimizer": {"learning_rate": 1}})
    assert loaded.steps == 100
    assert loaded.optimizer.learning_rate == 1.0 and isinstance(loaded.optimizer.learning_rate, float)
    assert to_jsonable(loaded)["out"] == "runs/x"


@pytest.mark.parametrize(
    ("data", "field_name", "fragment"),
    [
        ({"name": "a", "stepz": 3}, "stepz", "is not a field of TrainConfig"),
        ({}, "name", "is required"),
        ({"name": "a", "steps": "ten"}, "steps", "expected int"),
        ({"name": "a", "steps": True}, "steps", "expected int"),
        ({"name": "a", "device": "tpu"}, "device", "must be one of 'cpu', 'cuda'"),
        ({"name": "a", "precision": "fp8"}, "precision", "must be one of 'fp32', 'bf16'"),
        ({"name": "a", "layers": [1, "x"]}, "layers[1]", "expected int"),
        ({"name": "a", "optimizer": {"betas": [0.9]}}, "optimizer.betas", "expected 2 values"),
        ({"name": "a", "optimizer": {"learning_rate": -1}}, "optimizer.learning_rate", "must be positive"),
        ({"name": "a", "steps": 0}, "steps", "must be positive (got 0)"),
        ({"name": "a", "extra": {"k": "v"}}, "extra.k", "expected float"),
    ],
)
def test_errors_name_the_field(data: dict[str, object], field_name: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        from_jsonable(TrainConfig, data)
    assert raised.value.field == field_name
    assert fragment in str(raised.value)
    assert field_name in str(raised.value)


def test_validation_runs_on_direct_construction() -> None:
    with pytest.raises(ConfigError, match="steps: must be positive"):
        TrainConfig(name="a", steps=-1)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(TrainConfig, tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken.json: not valid JSON"):
        load_config(TrainConfig, broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"name": "a", "steps": -5}))
    with pytest.raises(ConfigError, match=r"wrong.json: steps: must be positive"):
        load_config(TrainConfig, wrong)


def test_save_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    save_config(TrainConfig(name="a"), tmp_path / "c.json")
    save_config(TrainConfig(name="b"), tmp_path / "c.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert load_config(TrainConfig, tmp_path / "c.json").name == "b"
