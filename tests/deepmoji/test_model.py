"""The DeepMoji network: DeepMoji's exact parameter count, shapes, padding that changes nothing, attention that
covers only real tokens, the transfer operations (new head, larger vocabulary, layer groups), and the
length-bucketed batching and inference built on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fourfold.core.config import ConfigError, from_jsonable, to_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.batching import (
    bf16_copy,
    collate,
    iterate_batches,
    length_batches,
    predict_logits,
    row_lengths,
)
from fourfold.deepmoji.config import PRESETS, ModelConfig, preset
from fourfold.deepmoji.model import EMBEDDING_INIT_RANGE, DeepMoji

TINY = preset("tiny").replace(vocab_size=100, num_classes=5, context_length=12)


def tiny_model(seed: int = 0) -> DeepMoji:
    torch.manual_seed(seed)
    return DeepMoji(TINY).eval()


def padded(rows: list[list[int]], width: int) -> torch.Tensor:
    """Token ids (B, width) from lists of ids, padded with 0."""
    out = torch.zeros(len(rows), width, dtype=torch.int64)
    for index, row in enumerate(rows):
        out[index, : len(row)] = torch.tensor(row)
    return out


ROWS = [[5, 6, 7, 8, 9, 10, 11], [12, 13, 14], [15], [16, 17, 18, 19, 20]]


def test_full_preset_has_deepmojis_22395200_parameters() -> None:
    config = preset("full")
    assert (config.vocab_size, config.num_classes, config.embed_dim, config.hidden_size) == (50_000, 64, 256, 512)
    assert config.attention_size == 2304
    model = DeepMoji(config)
    assert sum(p.numel() for p in model.parameters()) == 22_395_200
    assert config.num_parameters == 22_395_200


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_num_parameters_matches_the_module(name: str) -> None:
    config = preset(name).replace(vocab_size=1000, num_classes=7)
    assert sum(p.numel() for p in DeepMoji(config).parameters()) == config.num_parameters


def test_one_bias_per_direction_and_the_second_is_a_zero_buffer() -> None:
    model = tiny_model()
    names = set(model.state_dict())
    assert not any("bias_hh" in name for name in names)
    assert {name for name, _ in model.named_parameters()} == names
    for lstm in model.lstm:
        for suffix in ("_l0", "_l0_reverse"):
            assert torch.count_nonzero(getattr(lstm, "bias_hh" + suffix)) == 0
            bias = getattr(lstm, "bias_ih" + suffix)
            hidden = TINY.hidden_size
            assert torch.all(bias[hidden : 2 * hidden] == 1.0)  # Keras's unit forget bias
            assert torch.count_nonzero(bias[:hidden]) == 0


def test_shapes_of_logits_pooled_and_attention() -> None:
    model = tiny_model()
    token_ids = padded(ROWS, 9)
    encoding = model.encode(token_ids)
    assert encoding.pooled.shape == (4, TINY.attention_size)
    assert encoding.attention.shape == (4, 9)
    assert model(token_ids).shape == (4, TINY.num_classes)
    assert model.classify(encoding.pooled).shape == (4, TINY.num_classes)


def test_extra_padding_changes_nothing() -> None:
    model = tiny_model()
    short, long = padded(ROWS, 7), padded(ROWS, 12)
    with torch.no_grad():
        assert torch.equal(model(short), model(long))
        assert torch.equal(model.encode(long).attention[:, 7:], torch.zeros(4, 5))


def test_packed_batch_agrees_with_each_text_alone() -> None:
    model = tiny_model()
    with torch.no_grad():
        together = model(padded(ROWS, 8))  # mixed lengths: packed
        for index, row in enumerate(ROWS):
            alone = model(torch.tensor([row]))  # no padding: unpacked
            torch.testing.assert_close(together[index], alone[0], rtol=1e-5, atol=1e-6)


def test_packing_really_skips_padding() -> None:
    """Unpacked, the backward LSTM would read the padding: a different padding embedding would show."""
    model = tiny_model()
    token_ids = padded(ROWS, 8)
    with torch.no_grad():
        before = model(token_ids)
        model.embedding.weight[0] += 1.0  # the padding id's vector
        after = model(token_ids)
    torch.testing.assert_close(before, after, rtol=0, atol=0)


def test_explicit_lengths_match_the_counted_ones() -> None:
    model = tiny_model()
    token_ids = padded(ROWS, 8)
    lengths = torch.tensor([len(row) for row in ROWS])
    with torch.no_grad():
        assert torch.equal(model(token_ids), model(token_ids, lengths))


def test_attention_sums_to_one_over_real_tokens_and_is_zero_on_padding() -> None:
    model = tiny_model()
    token_ids = padded(ROWS, 10)
    attention = model.encode(token_ids).attention.detach()
    torch.testing.assert_close(attention.sum(dim=1), torch.ones(4))
    padding = token_ids == 0
    assert torch.all(attention[padding] == 0)
    assert torch.all(attention[~padding] > 0)


def test_empty_text_gets_zero_attention_and_the_head_bias() -> None:
    model = tiny_model()
    with torch.no_grad():
        model.head.bias.copy_(torch.arange(TINY.num_classes, dtype=torch.float32))
        token_ids = padded([[5, 6, 7], []], 4)
        encoding = model.encode(token_ids)
        assert torch.all(encoding.attention[1] == 0)
        assert torch.all(encoding.pooled[1] == 0)
        torch.testing.assert_close(model(token_ids)[1], model.head.bias)
        only_empty = model(torch.zeros(2, 3, dtype=torch.int64))
        torch.testing.assert_close(only_empty, model.head.bias.expand(2, -1))


def test_bad_inputs_raise_one_clear_error() -> None:
    model = tiny_model()
    with pytest.raises(FourfoldError, match="shape"):
        model(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(FourfoldError, match="lengths"):
        model(padded(ROWS, 8), torch.tensor([3, 2]))
    with pytest.raises(FourfoldError, match="lengths from"):
        model(padded(ROWS, 8), torch.tensor([9, 3, 1, 5]))


def test_training_mode_drops_out_and_gradients_reach_every_parameter() -> None:
    model = tiny_model().train()
    token_ids = padded(ROWS, 8)
    first, second = model(token_ids), model(token_ids)
    assert not torch.equal(first, second)
    first.sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.any(parameter.grad != 0), name
    for lstm in model.lstm:
        assert lstm.bias_hh_l0.grad is None


def test_state_dict_round_trip_gives_the_same_outputs() -> None:
    model, other = tiny_model(0), tiny_model(1)
    token_ids = padded(ROWS, 8)
    other.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(model(token_ids), other(token_ids))


def test_replace_head_keeps_the_other_weights() -> None:
    model = tiny_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    model.replace_head(3)
    assert model.config.num_classes == 3
    assert model(padded(ROWS, 8)).shape == (4, 3)
    after = model.state_dict()
    for name, tensor in before.items():
        if not name.startswith("head."):
            assert torch.equal(after[name], tensor), name
    assert after["head.weight"].shape == (3, TINY.attention_size)
    with pytest.raises(FourfoldError):
        model.replace_head(0)


def test_extend_vocabulary_keeps_old_rows_and_initialises_new_ones() -> None:
    model = tiny_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    model.extend_vocabulary(150)
    assert model.config.vocab_size == 150
    weight = model.embedding.weight.detach()
    assert weight.shape == (150, TINY.embed_dim)
    assert torch.equal(weight[:100], before["embedding.weight"])
    new_rows = weight[100:]
    assert torch.all(new_rows.abs() <= EMBEDDING_INIT_RANGE) and new_rows.std() > 0
    for name, tensor in model.state_dict().items():
        if name != "embedding.weight":
            assert torch.equal(tensor, before[name]), name
    model(torch.tensor([[149, 120, 3]]))  # new ids work
    with pytest.raises(FourfoldError, match="shrink"):
        model.extend_vocabulary(50)


def test_layer_groups_cover_every_parameter_once_in_chain_thaw_order() -> None:
    model = tiny_model()
    groups = model.layer_groups()
    assert list(groups) == ["embedding", "lstm_0", "lstm_1", "attention", "head"]
    grouped = [id(p) for parameters in groups.values() for p in parameters]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) == {id(p) for p in model.parameters()}
    model.replace_head(2)  # the groups follow the new head
    assert {id(p) for p in model.layer_groups()["head"]} == {id(p) for p in model.head.parameters()}


def test_bf16_copy_runs_and_keeps_attention_and_head_in_float32() -> None:
    model = tiny_model()
    lowered = bf16_copy(model)
    assert lowered.embedding.weight.dtype == torch.bfloat16
    assert lowered.lstm[0].weight_ih_l0.dtype == torch.bfloat16
    assert lowered.lstm[0].bias_hh_l0.dtype == torch.bfloat16
    assert lowered.head.weight.dtype == torch.float32
    assert model.embedding.weight.dtype == torch.float32  # the original is untouched
    with torch.no_grad():
        logits = lowered(padded(ROWS, 8))
        assert logits.dtype == torch.float32
        torch.testing.assert_close(logits, model(padded(ROWS, 8)), rtol=0.05, atol=0.05)


def test_config_validation_and_json_round_trip() -> None:
    for bad in ({"embed_dim": 0}, {"vocab_size": 1}, {"embed_dropout": 1.0}, {"final_dropout": -0.1}):
        with pytest.raises(ConfigError):
            ModelConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tiny"):
        preset("huge")
    config = preset("small")
    assert from_jsonable(ModelConfig, to_jsonable(config)) == config


def test_length_batches_cover_every_row_once_sorted_within_windows() -> None:
    lengths = np.random.default_rng(0).integers(1, 30, size=203)
    batches = length_batches(lengths, 8, window_batches=4)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(203))
    assert all(len(b) <= 8 for b in batches)
    for start in range(0, 203, 32):  # each window of 4 x 8 rows: consecutive rows, longest first
        window = rows[start : start + 32]
        assert sorted(window.tolist()) == list(range(start, min(start + 32, 203)))
        assert np.all(np.diff(lengths[window]) <= 0)
    shuffled = length_batches(lengths, 8, window_batches=4, rng=np.random.default_rng(1))
    again = length_batches(lengths, 8, window_batches=4, rng=np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(shuffled, again, strict=True))
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(203))
    assert not np.array_equal(np.concatenate(shuffled), rows)
    with pytest.raises(FourfoldError):
        length_batches(lengths, 0)


def test_collate_cuts_to_the_longest_text() -> None:
    token_ids = padded(ROWS, 12).numpy()
    ids, lengths = collate(token_ids, np.array([1, 3]))
    assert ids.shape == (2, 5) and lengths.tolist() == [3, 5]
    assert row_lengths(token_ids).tolist() == [7, 3, 1, 5]
    seen = sorted(int(i) for rows, _, _ in iterate_batches(token_ids, 3) for i in rows)
    assert seen == [0, 1, 2, 3]


def test_predict_logits_returns_the_data_order() -> None:
    model = tiny_model()
    rng = np.random.default_rng(0)
    rows = [rng.integers(2, 100, size=int(n)).tolist() for n in rng.integers(0, 12, size=37)]
    token_ids = padded(rows, 12)
    logits = predict_logits(model, token_ids.numpy(), batch_size=5, window_batches=3)
    with torch.no_grad():
        expected = torch.cat([model(token_ids[i : i + 1]) for i in range(len(rows))])
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-6)
