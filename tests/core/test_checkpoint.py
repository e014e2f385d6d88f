"""Checkpoints: exact round trips, atomic replacement and recovery, numbered run folders, and errors that explain."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from fourfold.core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    load_model_state,
    prune_checkpoints,
    save_checkpoint,
)
from fourfold.core.config import from_jsonable


@dataclass
class TinyConfig:
    embed_dim: int = 8
    vocab_size: int = 11
    name: str = "tiny"


class TiedLM(nn.Module):
    """A language model's skeleton: token embedding tied to the output head, as in GPT-2."""

    def __init__(self, vocab_size: int = 11, embed_dim: int = 8) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.lm_head = nn.Linear(embed_dim, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.lm_head(torch.tanh(self.proj(self.wte(tokens))))
        return logits


def exactly_equal(a: Any, b: Any) -> bool:
    """Deep equality that also requires identical types, dtypes and shapes (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, np.ndarray | np.generic):
        return bool(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(exactly_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return (
            list(a) == list(b)
            and all(type(k) is type(b_k) for k, b_k in zip(a, b, strict=True))
            and all(exactly_equal(a[k], b[k]) for k in a)
        )
    return bool(a == b)


def small_checkpoint(path: Path, **overrides: Any) -> Path:
    arguments: dict[str, Any] = {
        "model": {"w": torch.arange(12.0).reshape(3, 4), "b": torch.ones(3)},
        "config": TinyConfig(),
        "state": {"step": 3},
        "step": 3,
        "kind": "gpt",
    }
    return save_checkpoint(path, **(arguments | overrides))


# Round trips


def test_model_config_and_dtypes_round_trip(tmp_path: Path) -> None:
    base = torch.randn(5, 3)
    model = {
        "bf16": torch.randn(4, 3).to(torch.bfloat16),
        "int64": torch.tensor([2**62, -1, 0]),
        "bool": torch.tensor([True, False, True]),
        "transposed": base.t(),  # not contiguous
        "scalar": torch.tensor(1.5),
        "empty": torch.zeros(0, 4),
    }
    path = save_checkpoint(tmp_path / "ckpt", model=model, config=TinyConfig(embed_dim=4), step=7, kind="gpt")
    loaded = load_checkpoint(path, kind="gpt")
    assert set(loaded.model) == set(model)
    for name, tensor in model.items():
        assert exactly_equal(loaded.model[name], tensor), name
    assert loaded.model["transposed"].is_contiguous()
    assert loaded.config == {"embed_dim": 4, "vocab_size": 11, "name": "tiny"}
    assert from_jsonable(TinyConfig, loaded.config) == TinyConfig(embed_dim=4)
    assert (loaded.step, loaded.kind, loaded.format_version, loaded.path) == (7, "gpt", FORMAT_VERSION, path)


def test_manifest_records_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    path = small_checkpoint(tmp_path / "ckpt")
    manifest = json.loads((path / "checkpoint.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert (manifest["kind"], manifest["step"]) == ("gpt", 3)
    assert set(manifest["files"]) == {"config.json", "model.safetensors", "state.safetensors", "state.json"}
    for name, entry in manifest["files"].items():
        data = (path / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert sorted(p.name for p in path.iterdir()) == sorted([*manifest["files"], "checkpoint.json"])


def test_without_config_or_state(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "ckpt", model={"w": torch.ones(2)})
    loaded = load_checkpoint(path)
    assert loaded.config is None
    assert loaded.state == {}
    assert (loaded.step, loaded.kind) == (0, "")


def test_tied_weights_are_stored_once_and_stay_tied(tmp_path: Path) -> None:
    model = TiedLM()
    path = save_checkpoint(tmp_path / "ckpt", model=model.state_dict())
    manifest = json.loads((path / "checkpoint.json").read_text())
    assert manifest["aliases"]["model.safetensors"] == {"lm_head.weight": "wte.weight"}
    loaded = load_checkpoint(path)
    assert loaded.model["lm_head.weight"] is loaded.model["wte.weight"]
    assert torch.equal(loaded.model["wte.weight"], model.wte.weight)

    fresh = TiedLM()
    load_model_state(fresh, loaded.model, str(path))
    assert fresh.lm_head.weight is fresh.wte.weight
    tokens = torch.tensor([1, 2, 3])
    assert torch.equal(fresh(tokens), model(tokens))


def test_overlapping_views_are_stored_as_separate_copies(tmp_path: Path) -> None:
    base = torch.arange(10.0)
    model = {"head": base[:6], "tail": base[4:], "again": base[:6].view(2, 3), "strided": base[::2]}
    state = {"whole": base, "part": base[2:5]}
    loaded = load_checkpoint(save_checkpoint(tmp_path / "ckpt", model=model, state=state))
    for name, tensor in model.items():
        assert torch.equal(loaded.model[name], tensor), name
    assert torch.equal(loaded.state["whole"], base)
    assert torch.equal(loaded.state["part"], base[2:5])


def test_loaded_tensors_can_be_changed_without_changing_the_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "ckpt", model={"w": torch.zeros(4)}, state={"m": torch.zeros(3)})
    loaded = load_checkpoint(path)
    loaded.model["w"].add_(1)
    loaded.state["m"].add_(1)
    again = load_checkpoint(path)  # verifies every sha256 again
    assert torch.equal(again.model["w"], torch.zeros(4))
    assert torch.equal(again.state["m"], torch.zeros(3))
    assert torch.equal(loaded.model["w"], torch.ones(4))


def test_adamw_resume_gives_the_same_next_step_as_an_uninterrupted_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    inputs, targets = torch.randn(16, 5), torch.randn(16, 2)

    def make() -> tuple[nn.Module, torch.optim.Optimizer]:
        model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
        return model, torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.95), weight_decay=0.1)

    def step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()

    model, optimizer = make()
    for _ in range(3):
        step(model, optimizer)
    path = save_checkpoint(tmp_path / "ckpt", model=model.state_dict(), state={"optimizer": optimizer.state_dict()})
    step(model, optimizer)  # the uninterrupted run

    resumed, resumed_optimizer = make()
    loaded = load_checkpoint(path)
    load_model_state(resumed, loaded.model, str(path))
    resumed_optimizer.load_state_dict(loaded.state["optimizer"])
    assert loaded.state["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.95)
    step(resumed, resumed_optimizer)
    for name, parameter in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], parameter), name


def test_rng_states_give_the_same_next_draws(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    generator = np.random.default_rng(4)
    for _ in range(5):  # move every generator off its seed state, numpy's cached gaussian included
        random.gauss(0, 1), np.random.standard_normal(), torch.rand(1), generator.standard_normal()
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "generator": generator.bit_generator.state,
        "torch": torch.get_rng_state(),
    }
    path = save_checkpoint(tmp_path / "ckpt", model={}, state={"rng": state})
    expected = (random.random(), np.random.random(3), generator.random(3), torch.rand(3))

    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    loaded = load_checkpoint(path).state["rng"]
    assert exactly_equal(loaded, state)
    random.setstate(loaded["python"])
    np.random.set_state(loaded["numpy"])
    restored = np.random.default_rng()
    restored.bit_generator.state = loaded["generator"]
    torch.set_rng_state(loaded["torch"])
    assert random.random() == expected[0]
    assert np.array_equal(np.random.random(3), expected[1])
    assert np.array_equal(restored.random(3), expected[2])
    assert torch.equal(torch.rand(3), expected[3])


def test_state_tree_round_trips_exactly(tmp_path: Path) -> None:
    shared = torch.arange(4)
    state = {
        "ints": {0: "zero", -3: [1, 2], 2**70: None},
        "odd keys": {None: 1, True: 2, 1.5: 3, (1, "a"): 4, np.int64(5): 5, "x": 6},
        "tag-like keys": {"__tuple__": [1], "__tensor__": "0"},
        "floats": [float("nan"), float("inf"), -float("inf"), -0.0, 1e-310, 0.1],
        "nested": ((1, (2, [3, ()])), [], {}),
        "text": 'ünïcode \n "quotes"',
        "tensors": [shared, shared, torch.randn(2, 2).to(torch.float16), torch.tensor(True)],
        "arrays": [
            np.arange(6, dtype=">u4").reshape(2, 3),
            np.linspace(0, 1, 5, dtype=np.float16),
            np.array([1 + 2j, -3j]),
            np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"),
            np.array([[True, False]]),
            np.zeros((0, 3)),
            np.array(7.5),
            np.zeros(3, dtype=[("a", "<f4"), ("b", "<i2", (2,))]),
            np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            np.arange(10)[::3],
        ],
        "scalars": [np.float32(1.25), np.int8(-7), np.uint64(2**64 - 1), np.bool_(True), np.str_("hé")],
    }
    loaded = load_checkpoint(save_checkpoint(tmp_path / "ckpt", model={}, state=state)).state
    assert exactly_equal(loaded, state)
    assert loaded["tensors"][0] is loaded["tensors"][1]
    loaded["arrays"][0][0, 0] = 9  # arrays come back writable


@pytest.mark.parametrize(
    ("state", "where", "what"),
    [
        ({"optimizer": {"state": {0: {"foo": object()}}}}, 'state["optimizer"]["state"][0]["foo"]', "object"),
        ({"seen": {1, 2}}, 'state["seen"]', "set"),
        ({"a": [1, (2, b"raw")]}, 'state["a"][1][1]', "bytes"),
        ({"names": np.array(["x", 1], dtype=object)}, 'state["names"]', "object dtype"),
        ({"sparse": torch.eye(2).to_sparse()}, 'state["sparse"]', "sparse"),
        ({"keys": {frozenset(): 1}}, 'state["keys"]', "frozenset"),
    ],
)
def test_unsupported_values_name_their_place_in_the_tree(
    tmp_path: Path, state: dict[str, Any], where: str, what: str
) -> None:
    path = tmp_path / "ckpt"
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(path, model={}, state=state)
    assert where in str(caught.value)
    assert what in str(caught.value)
    assert str(path) in str(caught.value)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []  # nothing written


def test_a_tree_that_contains_itself_is_refused(tmp_path: Path) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(CheckpointError, match=r'state\["loop"\]\[1\] contains itself'):
        save_checkpoint(tmp_path / "ckpt", model={}, state={"loop": loop})


def test_a_model_value_that_is_not_a_tensor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"model\['w'\] is of type list"):
        save_checkpoint(tmp_path / "ckpt", model={"w": [1.0]})  # type: ignore[dict-item]


# Atomic replacement, recovery, leftovers


def test_overwrite_replaces_the_checkpoint_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = small_checkpoint(tmp_path / "ckpt")
    save_checkpoint(path, model={"w": torch.zeros(2)}, state={"step": 4}, step=4, kind="gpt")
    loaded = load_checkpoint(path)
    assert loaded.step == 4
    assert set(loaded.model) == {"w"}
    assert loaded.config is None
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_a_loaded_checkpoint_can_be_saved_back_over_itself(tmp_path: Path) -> None:
    model = TiedLM()
    path = save_checkpoint(tmp_path / "ckpt", model=model.state_dict(), state={"m": torch.ones(3)}, step=1)
    loaded = load_checkpoint(path)  # its tensors map the files that the next save deletes
    save_checkpoint(path, model=loaded.model, state=loaded.state, step=2)
    again = load_checkpoint(path)
    assert again.step == 2
    assert torch.equal(again.model["wte.weight"], model.wte.weight)
    assert again.model["lm_head.weight"] is again.model["wte.weight"]
    assert torch.equal(loaded.state["m"], torch.ones(3))


def test_load_recovers_when_killed_between_the_two_renames(tmp_path: Path) -> None:
    path = small_checkpoint(tmp_path / "ckpt")
    # What a replacement killed between "old away" and "new in" leaves: the old one renamed, the new one in tmp.
    os.rename(path, tmp_path / ".ckpt.old-123-abcd")
    half = tmp_path / ".ckpt.tmp-123-ef01"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"partial")
    loaded = load_checkpoint(path)
    assert loaded.step == 3
    assert loaded.path == path
    assert latest_checkpoint(tmp_path) is None  # not a numbered folder
    save_checkpoint(path, model={"w": torch.ones(1)}, step=5)
    assert load_checkpoint(path).step == 5
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_next_save_removes_stale_leftovers_of_that_name_only(tmp_path: Path) -> None:
    for name in [".ckpt.tmp-1-aa", ".ckpt.old-2-bb", ".ckpt2.tmp-3-cc"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"junk")
    small_checkpoint(tmp_path / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt2.tmp-3-cc", "ckpt"]


def test_a_failed_write_keeps_the_old_checkpoint_and_leaves_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_checkpoint(tmp_path / "ckpt")

    def disk_full(directory: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("fourfold.core.checkpoint._fsync_directory", disk_full)
    with pytest.raises(CheckpointError, match=r"No space left on device.*check free disk space"):
        save_checkpoint(path, model={"w": torch.zeros(2)}, step=9)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    assert load_checkpoint(path).step == 3


def test_save_refuses_to_replace_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="is not a checkpoint"):
        small_checkpoint(tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


# Numbered run folders


def test_latest_and_prune_in_a_numbered_folder(tmp_path: Path) -> None:
    directory = tmp_path / "checkpoints"
    for step in [1, 2, 3, 10]:
        small_checkpoint(checkpoint_path(directory, step), step=step)
    assert checkpoint_path(directory, 10) == directory / "step_00000010"
    # Newer folders that are not complete checkpoints are skipped.
    (directory / ".step_00000011.tmp-5-aa").mkdir()
    (directory / "step_00000020").mkdir()
    (directory / "step_00000030").mkdir()
    (directory / "step_00000030" / "checkpoint.json").write_text("{not json")
    (directory / "step_00000040").write_text("a file")
    assert latest_checkpoint(directory) == checkpoint_path(directory, 10)

    removed = prune_checkpoints(directory, keep=2)
    assert sorted(p.name for p in removed) == ["step_00000001", "step_00000002"]
    remaining = sorted(p.name for p in directory.iterdir())
    assert remaining == [".step_00000011.tmp-5-aa", *[f"step_000000{n}" for n in ["03", "10", "20", "30", "40"]]]
    assert latest_checkpoint(directory) == checkpoint_path(directory, 10)
    assert load_checkpoint(checkpoint_path(directory, 3)).step == 3


def test_latest_counts_a_checkpoint_whose_replacement_was_killed(tmp_path: Path) -> None:
    small_checkpoint(checkpoint_path(tmp_path, 1), step=1)
    os.rename(small_checkpoint(checkpoint_path(tmp_path, 2), step=2), tmp_path / ".step_00000002.old-9-aa")
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 2)
    assert load_checkpoint(checkpoint_path(tmp_path, 2)).step == 2


def test_latest_of_a_missing_or_empty_folder_is_none(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path / "absent") is None
    assert latest_checkpoint(tmp_path) is None
    assert prune_checkpoints(tmp_path / "absent", keep=1) == []


# Failures: one CheckpointError sentence naming the path


def _flip_middle_byte(path: Path) -> None:
    file = path / "model.safetensors"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))


def _edit_manifest(path: Path, **changes: Any) -> None:
    manifest = json.loads((path / "checkpoint.json").read_text())
    (path / "checkpoint.json").write_text(json.dumps(manifest | changes))


def _overwrite_start(name: str, junk: bytes) -> Callable[[Path], object]:
    def damage(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(junk + data[len(junk) :])

    return damage


def _dangling_tensor_reference(path: Path) -> None:
    # Same size, so only the sha256 (not checked here) tells it from the original.
    size = (path / "state.json").stat().st_size
    (path / "state.json").write_text('{"t": {"__tensor__": "9"}}'.ljust(size))


FAILURES: list[tuple[str, Callable[[Path], object], dict[str, Any], str]] = [
    ("missing folder", lambda p: os.rename(p, p.with_name("moved")), {}, "does not exist"),
    ("no manifest", lambda p: (p / "checkpoint.json").unlink(), {}, "is not a checkpoint"),
    ("manifest not json", lambda p: (p / "checkpoint.json").write_text("{"), {}, "unreadable checkpoint.json"),
    ("manifest lacks files", lambda p: _edit_manifest(p, files={}), {}, "missing or mistyped fields"),
    ("newer format", lambda p: _edit_manifest(p, format_version=FORMAT_VERSION + 1), {}, "upgrade fourfold"),
    ("wrong kind", lambda p: None, {"kind": "gpt"}, "is a 'five' checkpoint, expected 'gpt'"),
    ("missing file", lambda p: (p / "state.json").unlink(), {}, "is missing state.json"),
    ("truncated", lambda p: os.truncate(p / "model.safetensors", 100), {}, "truncated"),
    ("flipped byte", _flip_middle_byte, {}, "corrupt model.safetensors"),
    (
        "bad header",
        _overwrite_start("model.safetensors", b"\xff" * 8),
        {"verify": False},
        "unreadable model.safetensors",
    ),
    ("bad state json", _overwrite_start("state.json", b"\x00"), {"verify": False}, "unreadable state.json"),
    ("dangling reference", _dangling_tensor_reference, {"verify": False}, "refers to stored tensor '9'"),
]


@pytest.mark.parametrize(("damage", "options", "expected"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_every_failure_is_one_sentence_naming_the_path(
    tmp_path: Path, damage: Callable[[Path], object], options: dict[str, Any], expected: str
) -> None:
    path = small_checkpoint(tmp_path / "ckpt", kind="five", state={"t": torch.ones(2), "pad": "x" * 100})
    damage(path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path, **options)
    message = str(caught.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_load_model_state_explains_shape_mismatches() -> None:
    model = nn.ModuleDict({"h": nn.ModuleList([nn.ModuleDict({"c_attn": nn.Linear(256, 768)})])})
    state = {"h.0.c_attn.weight": torch.zeros(384, 128), "h.0.c_attn.bias": torch.zeros(768)}
    with pytest.raises(CheckpointError) as caught:
        load_model_state(model, state, "runs/x/step_1")
    assert str(caught.value) == (
        "checkpoint runs/x/step_1 does not fit the model: 'h.0.c_attn.weight' is (384, 128) in the checkpoint "
        "but (768, 256) in the model; was it saved with another config?"
    )


def test_load_model_state_lists_missing_and_unexpected_keys() -> None:
    model = nn.Linear(3, 2)
    before = model.weight.detach().clone()
    with pytest.raises(CheckpointError, match=r"'bias' \(2,\) is in the model but missing from the checkpoint"):
        load_model_state(model, {"weight": torch.zeros(2, 3)}, "ckpt")
    extra = {"weight": torch.zeros(2, 3), "bias": torch.zeros(2), **{f"extra{i}": torch.zeros(1) for i in range(5)}}
    with pytest.raises(CheckpointError) as caught:
        load_model_state(model, extra, "ckpt")
    assert "'extra0' (1,) is in the checkpoint but not in the model" in str(caught.value)
    assert "(and 2 more)" in str(caught.value)
    assert torch.equal(model.weight, before)  # a refused load leaves the model as it was
    load_model_state(model, {"weight": torch.ones(2, 3), "bias": torch.ones(2)}, "ckpt")
    assert torch.equal(model.weight, torch.ones(2, 3))
