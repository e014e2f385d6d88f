"""Tests for fourfold.gpt.model: GPT-2's names and sizes, initialisation, loss, the KV cache, the optimizer groups,
and loading fourfold checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional

import fourfold.gpt.model as model_module
from fourfold.core.checkpoint import CheckpointError, save_checkpoint
from fourfold.core.errors import FourfoldError
from fourfold.gpt.config import GPTConfig
from fourfold.gpt.model import GPT, output_cross_entropy

TINY = GPTConfig(vocab_size=50, context_length=16, num_layers=2, num_heads=2, embed_dim=16)


def tiny_model(config: GPTConfig = TINY, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config).eval()


def test_parameter_names_are_hugging_faces() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=50, n_positions=16))
    hf_names = [n for n in hf.state_dict() if not n.endswith((".attn.bias", ".attn.masked_bias"))]
    ours = tiny_model().state_dict()
    assert sorted(ours) == sorted(hf_names)
    for name, tensor in hf.state_dict().items():
        if name in ours:  # Conv1D weights are stored transposed in Hugging Face's files
            assert tuple(ours[name].shape) in (tuple(tensor.shape), tuple(tensor.shape[::-1])), name


def test_output_head_is_tied_to_the_token_embedding() -> None:
    model = tiny_model()
    assert model.lm_head.weight is model.transformer.wte.weight
    assert model.lm_head.bias is None


@pytest.mark.parametrize(
    "config",
    [
        TINY,
        TINY.replace(bias=False),
        GPTConfig(vocab_size=65, context_length=64, num_layers=4, num_heads=4, embed_dim=128),
    ],
)
def test_num_parameters_counts_the_tied_head_once(config: GPTConfig) -> None:
    model = tiny_model(config)
    assert model.num_parameters() == config.num_parameters
    every = sum(p.numel() for p in model.state_dict().values())  # the state dict lists the tied weight twice
    assert every - model.num_parameters() == config.vocab_size * config.embed_dim


def test_initialisation_is_gpt2s() -> None:
    config = GPTConfig(vocab_size=512, context_length=64, num_layers=4, num_heads=4, embed_dim=128)
    model = tiny_model(config)
    residual = 0.02 / math.sqrt(2 * config.num_layers)
    for name, parameter in model.named_parameters():
        if name.endswith("c_proj.weight"):
            assert parameter.std().item() == pytest.approx(residual, rel=0.1), name
        elif parameter.dim() == 2:
            assert parameter.std().item() == pytest.approx(0.02, rel=0.1), name
        elif "ln_" in name:  # layer norms: PyTorch's ones and zeros
            assert torch.all(parameter == (1.0 if name.endswith("weight") else 0.0)), name
        else:
            assert torch.all(parameter == 0), name  # biases


def test_forward_shape_and_causality() -> None:
    model = tiny_model()
    idx = torch.randint(0, 50, (3, 10))
    logits = model(idx)
    assert logits.shape == (3, 10, 50)
    changed = idx.clone()
    changed[:, 6] = (idx[:, 6] + 1) % 50
    torch.testing.assert_close(model(changed)[:, :6], logits[:, :6])
    assert not torch.allclose(model(changed)[:, 6:], logits[:, 6:])


def test_loss_is_mean_cross_entropy_ignoring_minus_100() -> None:
    model = tiny_model()
    idx = torch.randint(0, 50, (2, 8))
    targets = torch.randint(0, 50, (2, 8))
    targets[0, :3] = -100
    logits = model(idx)
    keep = targets != -100
    expected = functional.cross_entropy(logits[keep], targets[keep])
    torch.testing.assert_close(model.loss(idx, targets), expected)
    # At initialisation the predictions are nearly uniform, so the loss is close to ln(V).
    assert model.loss(idx, targets).item() == pytest.approx(math.log(50), rel=0.05)


def test_sequence_longer_than_the_context_is_refused() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="context_length is 16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    cache = model.new_cache(1, 20)
    model(torch.zeros(1, 12, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="reach 17 tokens"):
        model(torch.zeros(1, 5, dtype=torch.long), cache=cache)


def test_cached_forward_continues_positions_and_matches_the_full_forward() -> None:
    model = tiny_model()
    idx = torch.randint(0, 50, (2, 12))
    cache = model.new_cache(2, 12)
    pieces = [model(idx[:, :5], cache=cache), model(idx[:, 5:6], cache=cache), model(idx[:, 6:], cache=cache)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), model(idx), atol=1e-5, rtol=1e-5)


def test_cached_forward_of_left_padded_rows_matches_each_row_alone() -> None:
    model = tiny_model()
    short, long = torch.randint(0, 50, (1, 4)), torch.randint(0, 50, (1, 9))
    batch = torch.cat([torch.cat([torch.zeros(1, 5, dtype=torch.long), short], dim=1), long])  # (2, 9)
    cache = model.new_cache(2, 10, padding=[5, 0])
    logits = model(batch, cache=cache)
    torch.testing.assert_close(logits[0, 5:], model(short)[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits[1], model(long)[0], atol=1e-5, rtol=1e-5)
    step = torch.tensor([[7], [8]])
    after = model(step, cache=cache)[:, -1]
    torch.testing.assert_close(after[0], model(torch.cat([short, step[:1]], dim=1))[0, -1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after[1], model(torch.cat([long, step[1:]], dim=1))[0, -1], atol=1e-5, rtol=1e-5)


def test_flops_per_token_follows_the_palm_estimate() -> None:
    model = tiny_model()
    n = TINY.num_parameters - TINY.context_length * TINY.embed_dim  # without the position embedding
    assert model.flops_per_token(16) == 6 * n + 12 * TINY.num_layers * TINY.embed_dim * 16


def test_optimizer_decays_2d_weights_only() -> None:
    model = tiny_model()
    optimizer = model.configure_optimizer(weight_decay=0.1, learning_rate=3e-4, betas=(0.9, 0.95))
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    grouped = [id(p) for p in decay["params"] + no_decay["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())  # every parameter once, tied one included
    assert decay["lr"] == 3e-4 and decay["betas"] == (0.9, 0.95)
    assert decay["fused"]  # fused AdamW on the CPU too: one pass over each tensor


def test_bias_free_model_runs_and_has_no_bias() -> None:
    model = tiny_model(TINY.replace(bias=False))
    assert not any(name.endswith("bias") for name, _ in model.named_parameters())
    assert model(torch.zeros(1, 4, dtype=torch.long)).shape == (1, 4, 50)


def test_dropout_acts_only_in_training() -> None:
    model = tiny_model(TINY.replace(dropout=0.5))
    idx = torch.randint(0, 50, (2, 8))
    torch.testing.assert_close(model(idx), model(idx))
    model.train()
    assert not torch.allclose(model(idx), model(idx))


def save_gpt(path: Path, model: GPT, kind: str = "gpt") -> Path:
    state = {"tokenizer": {"kind": "char", "alphabet": "abc"}, "optimizer": {"step": 3}}
    return save_checkpoint(path, model=model.state_dict(), config=model.config, state=state, step=3, kind=kind)


def test_from_pretrained_loads_a_fourfold_checkpoint(tmp_path: Path) -> None:
    model = tiny_model()
    save_gpt(tmp_path / "ckpt", model)
    loaded = GPT.from_pretrained(tmp_path / "ckpt")
    assert not loaded.training
    assert loaded.config == model.config
    assert loaded.lm_head.weight is loaded.transformer.wte.weight
    idx = torch.randint(0, 50, (2, 10))
    torch.testing.assert_close(loaded(idx), model(idx), atol=0, rtol=0)


def test_from_pretrained_refuses_another_kind(tmp_path: Path) -> None:
    save_gpt(tmp_path / "ckpt", tiny_model(), kind="five")
    with pytest.raises(CheckpointError, match="'five' checkpoint, expected 'gpt'"):
        GPT.from_pretrained(tmp_path / "ckpt")


def test_from_pretrained_refuses_mismatched_shapes(tmp_path: Path) -> None:
    model = tiny_model()
    save_checkpoint(tmp_path / "ckpt", model=model.state_dict(), config=TINY.replace(embed_dim=32), kind="gpt")
    with pytest.raises(CheckpointError, match="does not fit the model"):
        GPT.from_pretrained(tmp_path / "ckpt")


def test_from_pretrained_refuses_a_config_that_is_not_a_gpt_config(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "ckpt", model=tiny_model().state_dict(), config={"num_envs": 8}, kind="gpt")
    with pytest.raises(CheckpointError, match="not a GPT config"):
        GPT.from_pretrained(tmp_path / "ckpt")


def test_from_pretrained_refuses_folders_that_are_neither(tmp_path: Path) -> None:
    with pytest.raises(FourfoldError, match="no such folder"):
        GPT.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FourfoldError, match=r"neither checkpoint\.json"):
        GPT.from_pretrained(tmp_path / "empty")


def test_from_pretrained_explains_a_checkpoint_that_lost_its_manifest(tmp_path: Path) -> None:
    folder = save_gpt(tmp_path / "ckpt", tiny_model())
    (folder / "checkpoint.json").unlink()  # config.json (a GPTConfig) remains
    with pytest.raises(FourfoldError, match=r"names no model_type.*nor a fourfold checkpoint"):
        GPT.from_pretrained(folder)


@pytest.mark.parametrize("block_elements", [1 << 20, 100])  # one block, and one row per block
def test_output_cross_entropy_equals_cross_entropy_in_value_and_gradient(
    block_elements: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "_BLOCK_ELEMENTS", block_elements)
    torch.manual_seed(0)
    hidden, weight = torch.randn(12, 16, requires_grad=True), torch.randn(50, 16, requires_grad=True)
    targets = torch.randint(0, 50, (12,))
    targets[[2, 7]] = -100
    expected = functional.cross_entropy(hidden @ weight.T, targets, ignore_index=-100)
    (3 * expected).backward()
    expected_grads = hidden.grad.clone(), weight.grad.clone()  # type: ignore[union-attr]
    hidden.grad, weight.grad = None, None
    loss = output_cross_entropy(hidden, weight, targets)
    (3 * loss).backward()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(hidden.grad, expected_grads[0])
    torch.testing.assert_close(weight.grad, expected_grads[1])
    with torch.no_grad():  # the path without a gradient gives the same value
        torch.testing.assert_close(output_cross_entropy(hidden, weight, targets), expected)


def test_output_cross_entropy_of_no_targets_is_zero_with_zero_gradient() -> None:
    hidden, weight = torch.randn(4, 8, requires_grad=True), torch.randn(10, 8, requires_grad=True)
    loss = output_cross_entropy(hidden, weight, torch.full((4,), -100))
    loss.backward()
    assert loss.item() == 0.0
    assert hidden.grad is not None and not hidden.grad.any()


def test_output_cross_entropy_under_bf16_autocast_matches_autocasts_logits() -> None:
    torch.manual_seed(0)
    hidden, weight = torch.randn(32, 16), torch.randn(50, 16)
    targets = torch.randint(0, 50, (32,))
    with torch.autocast("cpu", torch.bfloat16):
        logits = hidden @ weight.T  # (N, V) in bf16
        loss = output_cross_entropy(hidden, weight, targets)
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    torch.testing.assert_close(loss, functional.cross_entropy(logits.float(), targets))


def test_forward_with_targets_is_the_loss_of_the_logits() -> None:
    model = tiny_model().train()
    idx, targets = torch.randint(0, 50, (2, 8)), torch.randint(0, 50, (2, 8))
    expected = functional.cross_entropy(model(idx).flatten(0, 1), targets.flatten())
    torch.testing.assert_close(model(idx, targets=targets), expected)
