"""Tests for fourfold.gpt.hf against transformers itself: a tiny random `GPT2LMHeadModel` imported (safetensors and
pytorch_model.bin, with and without the `transformer.` prefix and mask buffers) gives its logits and its greedy
continuation; an export reloads in transformers with the same logits; bad folders give one clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from fourfold.core.errors import FourfoldError
from fourfold.gpt.config import GPTConfig
from fourfold.gpt.generate import generate
from fourfold.gpt.hf import export_hf_gpt2, hf_config, load_hf_gpt2
from fourfold.gpt.model import GPT

transformers = pytest.importorskip("transformers")

SHAPE = {"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 100, "n_positions": 128}
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


@pytest.fixture(scope="module")
def reference() -> Any:
    """A tiny randomly initialised GPT2LMHeadModel, fp32, eval mode, no end-of-text token (nothing stops early)."""
    torch.manual_seed(0)
    config = transformers.GPT2Config(**SHAPE, bos_token_id=0, eos_token_id=None, pad_token_id=0)
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.fixture(scope="module")
def hf_folder(reference: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hf") / "gpt2"
    reference.save_pretrained(folder)
    assert (folder / "model.safetensors").is_file()
    return folder


def ids(batch: int = 2, length: int = 40, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, SHAPE["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(seed))


def hf_logits(model: Any, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        logits: torch.Tensor = model(idx).logits
    return logits


def assert_same_logits(model: GPT, reference: Any, atol: float = 1e-4) -> None:
    idx = ids()
    with torch.no_grad():
        ours = model(idx)
    torch.testing.assert_close(ours, hf_logits(reference, idx), atol=atol, rtol=0)


def test_safetensors_import_gives_transformers_logits(hf_folder: Path, reference: Any) -> None:
    model = load_hf_gpt2(hf_folder)
    assert model.config.num_layers == 2 and model.config.context_length == 128 and model.config.vocab_size == 100
    assert not model.training
    assert model.lm_head.weight is model.transformer.wte.weight
    assert_same_logits(model, reference)


def test_pytorch_model_bin_import_gives_transformers_logits(hf_folder: Path, reference: Any, tmp_path: Path) -> None:
    # transformers 5 always writes safetensors (`safe_serialization=False` is gone), so write the pickle as its
    # earlier versions did: torch.save of the whole state dict, tied head included.
    shutil.copy(hf_folder / "config.json", tmp_path)
    torch.save(reference.state_dict(), tmp_path / "pytorch_model.bin")
    assert_same_logits(load_hf_gpt2(tmp_path), reference)


def test_greedy_continuation_is_transformers_generate(hf_folder: Path, reference: Any) -> None:
    prompt = ids(1, 12, seed=2)
    with torch.no_grad():
        expected = reference.generate(
            prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=50, min_new_tokens=50, do_sample=False
        )
    ours = generate(load_hf_gpt2(hf_folder), [prompt[0].tolist()], max_new_tokens=50, temperature=0.0)
    assert ours[0] == expected[0, 12:].tolist()


def hand_written(reference: Any, folder: Path, *, prefix: bool, buffers: bool, head: bool, pickle: bool) -> Path:
    """A Hugging Face folder written by hand: the reference's tensors in one of the layouts found in the wild."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**SHAPE, "model_type": "gpt2"}), encoding="utf-8")
    state: dict[str, torch.Tensor] = {}
    for name, tensor in reference.state_dict().items():
        if name == "lm_head.weight":
            continue
        stored = name if prefix else name.removeprefix("transformer.")
        state[stored] = tensor.clone()
    if head:
        state["lm_head.weight"] = reference.lm_head.weight.detach().clone()
    if buffers:  # what older transformers versions saved with every attention block
        for layer in range(SHAPE["n_layer"]):
            block = f"{'transformer.' if prefix else ''}h.{layer}.attn."
            state[block + "bias"] = torch.ones(1, 1, 128, 128).tril()
            state[block + "masked_bias"] = torch.tensor(-1e4)
    if pickle:
        torch.save(state, folder / "pytorch_model.bin")
    else:
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.mark.parametrize(
    ("prefix", "buffers", "head", "pickle"),
    [(False, False, False, False), (False, True, False, False), (True, True, True, True), (False, True, True, True)],
)
def test_keys_with_or_without_prefix_buffers_and_head(
    reference: Any, tmp_path: Path, prefix: bool, buffers: bool, head: bool, pickle: bool
) -> None:
    folder = hand_written(reference, tmp_path / "hand", prefix=prefix, buffers=buffers, head=head, pickle=pickle)
    assert_same_logits(load_hf_gpt2(folder), reference)


def test_sharded_safetensors_import(reference: Any, tmp_path: Path) -> None:
    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**SHAPE, "model_type": "gpt2"}), encoding="utf-8")
    names = [name for name in reference.state_dict() if name != "lm_head.weight"]
    weight_map = {}
    for shard, half in enumerate((names[::2], names[1::2])):
        file = f"model-0000{shard + 1}-of-00002.safetensors"
        save_file({n: reference.state_dict()[n].clone() for n in half}, str(folder / file), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(half, file))
    index = {"metadata": {}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    assert_same_logits(load_hf_gpt2(folder), reference)


def test_export_reloads_in_transformers_with_the_same_logits(hf_folder: Path, reference: Any, tmp_path: Path) -> None:
    model = load_hf_gpt2(hf_folder)
    tokenizer_files = {"vocab.json": b'{"a": 0}', "merges.txt": b"#version: 0.2\n"}
    folder = export_hf_gpt2(model, tmp_path / "export", tokenizer_files)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "merges.txt", "model.safetensors", "vocab.json"]
    assert (folder / "vocab.json").read_bytes() == b'{"a": 0}'
    reloaded = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    assert reloaded.lm_head.weight.data_ptr() == reloaded.transformer.wte.weight.data_ptr()  # tied again
    idx = ids()
    torch.testing.assert_close(hf_logits(reloaded, idx), hf_logits(reference, idx), atol=1e-5, rtol=0)
    # and back into fourfold, bit for bit
    again = load_hf_gpt2(folder)
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def test_export_replaces_an_earlier_export_and_refuses_other_folders(hf_folder: Path, tmp_path: Path) -> None:
    model = load_hf_gpt2(hf_folder)
    folder = export_hf_gpt2(model, tmp_path / "export", {"tokenizer.json": b"{}"})
    export_hf_gpt2(model, folder)
    assert not (folder / "tokenizer.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no temporary or old folder left behind
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FourfoldError, match="not a model folder"):
        export_hf_gpt2(model, tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(FourfoldError, match="plain tokenizer file name"):
        export_hf_gpt2(model, tmp_path / "other", {"../vocab.json": b""})


def test_export_config_is_gpt2s_with_an_end_of_text_token_only_for_gpt2s_vocabulary(hf_folder: Path) -> None:
    small = hf_config(load_hf_gpt2(hf_folder).config, None)
    assert small["architectures"] == ["GPT2LMHeadModel"] and small["model_type"] == "gpt2"
    assert small["activation_function"] == "gelu_new" and small["n_embd"] == 64 and small["n_positions"] == 128
    assert small["eos_token_id"] is None  # 50256 would lie outside a 100-token vocabulary
    assert hf_config(GPTConfig(), 50256)["bos_token_id"] == 50256


def test_from_pretrained_delegates_hugging_face_folders(hf_folder: Path, reference: Any) -> None:
    assert_same_logits(GPT.from_pretrained(hf_folder), reference)


def write_config(folder: Path, **fields: Any) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(fields), encoding="utf-8")
    return folder


def test_folder_without_config_is_not_a_hugging_face_folder(tmp_path: Path) -> None:
    with pytest.raises(FourfoldError, match=r"not a Hugging Face model folder: it has no config\.json"):
        load_hf_gpt2(tmp_path)


def test_other_architecture_is_refused(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "llama", model_type="llama", architectures=["LlamaForCausalLM"])
    with pytest.raises(FourfoldError, match="holds a 'llama' model, not GPT-2"):
        load_hf_gpt2(folder)


def test_other_activation_is_refused(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "relu", model_type="gpt2", activation_function="relu")
    with pytest.raises(FourfoldError, match=r"'relu'.*'gelu_new'"):
        load_hf_gpt2(folder)


def test_gpt2_variants_fourfold_does_not_implement_are_refused(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "wide", model_type="gpt2", n_embd=64, n_head=4, n_inner=128)
    with pytest.raises(FourfoldError, match="n_inner"):
        load_hf_gpt2(folder)


def test_missing_weights_are_refused(hf_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-weights"
    folder.mkdir()
    shutil.copy(hf_folder / "config.json", folder)
    with pytest.raises(FourfoldError, match=r"has no weights: it lacks model\.safetensors and pytorch_model\.bin"):
        load_hf_gpt2(folder)


def test_missing_tensor_is_refused(reference: Any, tmp_path: Path) -> None:
    folder = hand_written(reference, tmp_path / "hand", prefix=True, buffers=False, head=False, pickle=False)
    state = {k: v for k, v in reference.state_dict().items() if k not in ("lm_head.weight", "transformer.ln_f.bias")}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(FourfoldError, match=r"transformer\.ln_f\.bias"):
        load_hf_gpt2(folder)


def test_damaged_weights_are_refused(hf_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    shutil.copytree(hf_folder, folder)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(FourfoldError, match="damaged"):
        load_hf_gpt2(folder)


def test_untied_output_head_is_refused(reference: Any, tmp_path: Path) -> None:
    folder = hand_written(reference, tmp_path / "hand", prefix=True, buffers=False, head=True, pickle=False)
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    state["lm_head.weight"] += 1.0
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(FourfoldError, match=r"differs from transformer\.wte\.weight"):
        load_hf_gpt2(folder)
