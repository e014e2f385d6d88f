"""Tests for fourfold.core.nn: exact agreement with a by-hand transformer block, causality, GPT-2's names, and the
key/value cache (token by token, in chunks, left-padded rows)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from fourfold.core.nn import KVCache, LayerCache, TransformerBlock

B, T, C, H = 2, 7, 32, 4

GPT2_NAMES = [
    "ln_1.weight",
    "ln_1.bias",
    "attn.c_attn.weight",
    "attn.c_attn.bias",
    "attn.c_proj.weight",
    "attn.c_proj.bias",
    "ln_2.weight",
    "ln_2.bias",
    "mlp.c_fc.weight",
    "mlp.c_fc.bias",
    "mlp.c_proj.weight",
    "mlp.c_proj.bias",
]


def make_block(causal: bool, **kwargs: float | bool | int) -> TransformerBlock:
    torch.manual_seed(0)
    block = TransformerBlock(C, H, causal=causal, **kwargs)  # type: ignore[arg-type]
    # Random layer-norm parameters and biases, so the reference is checked against all of them, not just 1s and 0s.
    with torch.no_grad():
        for name, parameter in block.named_parameters():
            centre = 1.0 if name.startswith("ln_") and name.endswith(".weight") else 0.0
            parameter.copy_(centre + 0.2 * torch.randn_like(parameter))
    return block.eval()


def reference(block: TransformerBlock, x: Tensor, allowed: Tensor | None) -> Tensor:
    """The block written out by hand: pre-LN, explicit q·kᵀ/√d, masked softmax, tanh GELU; allowed is (B, T, T)."""
    p = dict(block.named_parameters())

    def layer_norm(v: Tensor, name: str) -> Tensor:
        mean = v.mean(-1, keepdim=True)
        var = ((v - mean) ** 2).mean(-1, keepdim=True)
        return (v - mean) / torch.sqrt(var + 1e-5) * p[f"{name}.weight"] + p[f"{name}.bias"]

    def gelu_tanh(v: Tensor) -> Tensor:
        return 0.5 * v * (1 + torch.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))

    d = C // H
    h = layer_norm(x, "ln_1")
    qkv = h @ p["attn.c_attn.weight"].T + p["attn.c_attn.bias"]
    heads = []
    for i in range(H):
        q = qkv[..., i * d : (i + 1) * d]
        k = qkv[..., C + i * d : C + (i + 1) * d]
        v = qkv[..., 2 * C + i * d : 2 * C + (i + 1) * d]
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (B, T, T)
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v)
    attended = torch.cat(heads, dim=-1) @ p["attn.c_proj.weight"].T + p["attn.c_proj.bias"]
    x = x + attended
    h = layer_norm(x, "ln_2")
    hidden = gelu_tanh(h @ p["mlp.c_fc.weight"].T + p["mlp.c_fc.bias"])
    return x + hidden @ p["mlp.c_proj.weight"].T + p["mlp.c_proj.bias"]


def padding_mask() -> Tensor:
    """(B, 1, 1, T): the first sequence has 2 padded positions at the end, the second none."""
    keep = torch.ones(B, T, dtype=torch.bool)
    keep[0, -2:] = False
    return keep[:, None, None, :]


CAUSAL = torch.ones(T, T, dtype=torch.bool).tril()


def test_output_shape() -> None:
    block = TransformerBlock(C, H)
    assert block(torch.randn(B, T, C)).shape == (B, T, C)


@pytest.mark.parametrize("causal", [True, False])
def test_agrees_with_the_reference_without_a_mask(causal: bool) -> None:
    block = make_block(causal)
    x = torch.randn(B, T, C)
    allowed = CAUSAL.expand(B, T, T) if causal else None
    torch.testing.assert_close(block(x), reference(block, x, allowed), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
def test_agrees_with_the_reference_with_a_padding_mask(causal: bool) -> None:
    block = make_block(causal)
    x = torch.randn(B, T, C)
    mask = padding_mask()
    allowed = mask[:, 0].expand(B, T, T)  # (B, 1, 1, T) -> (B, T, T): every query sees the unpadded keys
    if causal:
        allowed = allowed & CAUSAL
    torch.testing.assert_close(block(x, mask), reference(block, x, allowed), atol=1e-5, rtol=1e-5)


def test_padding_mask_hides_padded_positions() -> None:
    block = make_block(causal=False)
    x = torch.randn(B, T, C)
    changed = x.clone()
    changed[0, -2:] = torch.randn(2, C)  # new content only where the first sequence is padded
    mask = padding_mask()
    torch.testing.assert_close(block(x, mask)[0, :-2], block(changed, mask)[0, :-2])


def test_causality_later_tokens_do_not_change_earlier_outputs() -> None:
    block = make_block(causal=True)
    x = torch.randn(B, T, C)
    changed = x.clone()
    changed[:, 4] = torch.randn(B, C)
    before, after = block(x), block(changed)
    torch.testing.assert_close(before[:, :4], after[:, :4])
    assert not torch.allclose(before[:, 4:], after[:, 4:])


def test_non_causal_block_sees_later_tokens() -> None:
    block = make_block(causal=False)
    x = torch.randn(B, T, C)
    changed = x.clone()
    changed[:, -1] = torch.randn(B, C)
    assert not torch.allclose(block(x)[:, 0], block(changed)[:, 0])


def test_dropout_is_active_only_in_training() -> None:
    block = make_block(causal=True, dropout=0.5)
    x = torch.randn(B, T, C)
    torch.testing.assert_close(block(x), reference(block, x, CAUSAL.expand(B, T, T)), atol=1e-5, rtol=1e-5)
    block.train()
    assert not torch.allclose(block(x), block(x))


def test_parameter_names_are_gpt2s() -> None:
    block = TransformerBlock(C, H)
    assert [name for name, _ in block.named_parameters()] == GPT2_NAMES
    assert list(block.state_dict()) == GPT2_NAMES
    shapes = {name: tuple(p.shape) for name, p in block.named_parameters()}
    assert shapes["attn.c_attn.weight"] == (3 * C, C)
    assert shapes["mlp.c_fc.weight"] == (4 * C, C)
    assert shapes["mlp.c_proj.weight"] == (C, 4 * C)


def test_bias_false_removes_every_bias() -> None:
    block = TransformerBlock(C, H, bias=False)
    assert [name for name, _ in block.named_parameters()] == [n for n in GPT2_NAMES if not n.endswith(".bias")]
    assert block(torch.randn(B, T, C)).shape == (B, T, C)


def test_mlp_ratio_sets_the_hidden_width() -> None:
    block = TransformerBlock(C, H, mlp_ratio=2)
    assert block.mlp.c_fc.weight.shape == (2 * C, C)


def test_embed_dim_not_divisible_by_num_heads_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerBlock(30, 4)


def test_non_bool_mask_is_refused() -> None:
    block = TransformerBlock(C, H)
    with pytest.raises(ValueError, match="bool tensor"):
        block(torch.randn(B, T, C), torch.zeros(B, 1, 1, T))


def layer_cache(batch: int = B, max_length: int = T) -> LayerCache:
    return LayerCache(batch, H, C // H, max_length)


@pytest.mark.parametrize("chunks", [[1] * T, [3, 1, 2, 1], [T], [5, 2]])
def test_cache_fed_in_chunks_agrees_with_the_whole_sequence(chunks: list[int]) -> None:
    block = make_block(causal=True)
    x = torch.randn(B, T, C)
    cache = layer_cache()
    outputs, start = [], 0
    for size in chunks:  # chunks of several tokens after a cached prefix exercise the offset causal mask
        outputs.append(block(x[:, start : start + size], cache=cache))
        start += size
    assert cache.length == T
    torch.testing.assert_close(torch.cat(outputs, dim=1), block(x), atol=1e-5, rtol=1e-5)


def test_non_causal_block_with_a_cache_sees_every_cached_key() -> None:
    block = make_block(causal=False)
    x = torch.randn(B, T, C)
    cache = layer_cache()
    block(x[:, :4], cache=cache)
    last = block(x[:, 4:], cache=cache)  # the new queries see all T keys, as without a cache
    torch.testing.assert_close(last, block(x)[:, 4:], atol=1e-5, rtol=1e-5)


def test_cache_refuses_more_positions_than_it_holds_and_another_batch_size() -> None:
    block = make_block(causal=True)
    cache = layer_cache(max_length=4)
    block(torch.randn(B, 3, C), cache=cache)
    with pytest.raises(ValueError, match="do not fit"):
        block(torch.randn(B, 2, C), cache=cache)
    with pytest.raises(ValueError, match="holds 2 sequences"):
        block(torch.randn(B + 1, 1, C), cache=cache)


def test_cache_select_keeps_rows_in_the_order_given() -> None:
    cache = KVCache(2, 3, H, C // H, 5, padding=[0, 2, 1])
    for layer in cache.layers:
        layer.append(torch.randn(3, H, 2, C // H), torch.randn(3, H, 2, C // H))
    keys = cache.layers[1].keys.clone()
    cache.select([2, 0])
    assert cache.batch_size == 2 and cache.length == 2
    torch.testing.assert_close(cache.layers[1].keys, keys[[2, 0]])
    assert cache.padding is not None and cache.padding.tolist() == [1, 0]
    cache.select([1])
    assert cache.padding is None and cache.min_padding == 0  # the only row left is unpadded


def test_cache_positions_and_mask_of_left_padded_rows() -> None:
    cache = KVCache(1, 2, H, C // H, 6, padding=[0, 2])
    assert cache.positions(3).tolist() == [[0, 1, 2], [0, 0, 0]]  # padded positions are clamped to 0
    mask = cache.attention_mask(3)
    assert mask is not None and mask.shape == (2, 1, 3, 3)
    assert mask[0, 0].all()  # causality is the block's job; nothing is padded in row 0
    assert mask[1, 0].tolist() == [[True, False, True], [False, True, True], [False, False, True]]
    unpadded = KVCache(1, 2, H, C // H, 6)
    assert unpadded.attention_mask(3) is None
    assert unpadded.positions(2).tolist() == [[0, 1]]


def test_left_padded_rows_compute_what_they_compute_alone() -> None:
    block = make_block(causal=True)
    x = torch.randn(2, T, C)
    pad = 3
    padded = x.clone()
    padded[1] = torch.cat([torch.full((pad, C), 1e4), x[1, : T - pad]])  # huge junk where row 1 is padded
    cache = KVCache(1, 2, H, C // H, T + 2, padding=[0, pad])
    first = block(padded, cache.attention_mask(T), cache.layers[0])
    step = torch.randn(2, 1, C)
    second = block(step, cache.attention_mask(1), cache.layers[0])
    assert torch.isfinite(first).all() and torch.isfinite(second).all()
    alone = block(torch.cat([x[1:, : T - pad], step[1:]], dim=1))  # row 1 without padding, step included
    torch.testing.assert_close(first[1, pad:], alone[0, :-1], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(second[1], alone[0, -1:], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(first[0], block(x[:1])[0], atol=1e-4, rtol=1e-5)
