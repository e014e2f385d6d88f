"""Hugging Face GPT-2 folders: import them as a fourfold `GPT`, export a `GPT` as one that transformers loads.

A Hugging Face GPT-2 folder (what `GPT2LMHeadModel.save_pretrained` writes, or a download of `openai-community/gpt2`)
holds `config.json` and the weights in `model.safetensors` (possibly sharded, with `model.safetensors.index.json`)
or the older pickled `pytorch_model.bin`. Its parameter names are fourfold's, except that GPT-2's original
TensorFlow code used 1x1 convolutions for its matmuls, kept by Hugging Face as `Conv1D`, whose weights are stored
(in, out): the transpose of a `torch.nn.Linear` weight (out, in). Import transposes them back; export transposes
them again. The attention blocks' causal mask buffers (`attn.bias`, `attn.masked_bias`) that older files carry are
dropped, the `transformer.` prefix is optional (a `GPT2Model` file lacks it), and `lm_head.weight` is optional, as
it is the token embedding (tied).

transformers itself is never imported here: only the file formats are read and written.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fourfold.core.checkpoint import load_model_state
from fourfold.core.errors import FourfoldError
from fourfold.gpt.config import GPT2_VOCAB_SIZE, GPTConfig

if TYPE_CHECKING:
    import torch

    from fourfold.gpt.model import GPT

CONFIG, SAFETENSORS, SAFETENSORS_INDEX, PICKLE = (
    "config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
)
GPT2_ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh")  # two names of the same tanh-approximated GELU
CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
MASK_BUFFERS = (".attn.bias", ".attn.masked_bias")
PREFIX = "transformer."
GPT2_EOT_ID = 50256
"""GPT-2's <|endoftext|>, its bos and eos token."""


class HFFormatError(FourfoldError):
    """A folder is not a Hugging Face GPT-2 model fourfold can import, or cannot be written as one."""


def load_hf_gpt2(folder: str | Path) -> GPT:
    """Load a Hugging Face GPT-2 folder as a fourfold `GPT` (fp32, on the CPU, in eval mode).

    Args:
        folder: holds `config.json` and `model.safetensors` (or its sharded index) or `pytorch_model.bin`.

    Raises:
        HFFormatError: the folder or its config is missing, the model is not GPT-2 or uses a variant fourfold does
            not implement, or it has no weights file.
        CheckpointError: the weights do not fit the config (missing, extra or misshapen tensors).
    """
    from fourfold.gpt.model import GPT

    folder = Path(folder)
    if not (folder / CONFIG).is_file():
        raise HFFormatError(f"{folder} is not a Hugging Face model folder: it has no {CONFIG}")
    config = gpt_config_from_hf(_read_config(folder / CONFIG), str(folder))
    weights = _read_weights(folder)
    state = _fourfold_state(weights, str(folder))
    model = GPT.uninitialised(config)
    load_model_state(model, state, str(folder))
    return model.eval()


def gpt_config_from_hf(hf: Mapping[str, Any], source: str) -> GPTConfig:
    """The `GPTConfig` of a Hugging Face GPT-2 `config.json` (already parsed), refusing anything else.

    Dropout is set to 0: the imported model is for inference, and fine-tuning chooses its own.

    Raises:
        HFFormatError: naming `source`, when the config is of another architecture or a GPT-2 variant fourfold does
            not implement (another activation, an inner width other than 4·n_embd, unscaled attention, ...).
    """
    architectures = hf.get("architectures") or []
    if not hf.get("model_type") and not architectures:
        raise HFFormatError(
            f"{source} has a {CONFIG} that names no model_type or architectures, so it is not a Hugging Face "
            "model folder (nor a fourfold checkpoint, which has checkpoint.json)"
        )
    if hf.get("model_type") != "gpt2" and not any(a in GPT2_ARCHITECTURES for a in architectures):
        what = hf.get("model_type") or ", ".join(map(str, architectures))
        raise HFFormatError(f"{source} holds a {what!r} model, not GPT-2; fourfold imports only GPT-2 checkpoints")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in TANH_GELUS:
        raise HFFormatError(
            f"{source} uses the activation {activation!r}, but fourfold's GPT-2 uses the tanh-approximated GELU "
            "('gelu_new'); this checkpoint cannot be imported exactly"
        )
    try:
        embed_dim = int(hf.get("n_embd", 768))
        inner = hf.get("n_inner")
        variants = {
            "n_inner": inner is not None and int(inner) != 4 * embed_dim,
            "scale_attn_weights": hf.get("scale_attn_weights", True) is not True,
            "scale_attn_by_inverse_layer_idx": hf.get("scale_attn_by_inverse_layer_idx", False) is not False,
            "add_cross_attention": hf.get("add_cross_attention", False) is not False,
        }
        for field, differs in variants.items():
            if differs:
                raise HFFormatError(
                    f"{source} sets {field} to {hf.get(field)!r}, a GPT-2 variant fourfold does not implement; "
                    "only standard GPT-2 checkpoints can be imported"
                )
        return GPTConfig(
            vocab_size=int(hf.get("vocab_size", GPT2_VOCAB_SIZE)),
            context_length=int(hf.get("n_positions", hf.get("n_ctx", 1024))),
            num_layers=int(hf.get("n_layer", 12)),
            num_heads=int(hf.get("n_head", 12)),
            embed_dim=embed_dim,
            dropout=0.0,
            bias=True,
            layer_norm_eps=float(hf.get("layer_norm_epsilon", 1e-5)),
        )
    except (TypeError, ValueError) as error:
        raise HFFormatError(f"{source} has a {CONFIG} with an unusable value ({error}); it is damaged") from None
    except FourfoldError as error:  # GPTConfig's own validation
        raise HFFormatError(f"{source} has a {CONFIG} that is not a valid GPT-2 shape ({error})") from None


def export_hf_gpt2(
    model: GPT,
    folder: str | Path,
    tokenizer_files: Mapping[str, bytes] | None = None,
    *,
    eot_id: int | None = None,
) -> Path:
    """Write `model` as a Hugging Face GPT-2 folder that `GPT2LMHeadModel.from_pretrained` loads.

    The folder gets `config.json`, `model.safetensors` (Hugging Face's names and Conv1D layout; the tied
    `lm_head.weight` left out, as transformers saves it) and the tokenizer files given. It is written to a temporary
    sibling folder and renamed into place, replacing an earlier export at `folder`.

    Args:
        model: the model to export (its weights are written as fp32 from any device).
        folder: the folder to create or replace.
        tokenizer_files: file name -> contents, e.g. {"vocab.json": ..., "merges.txt": ...} or
            {"tokenizer.json": ...}; plain names, no folders.
        eot_id: the end-of-text token, written as bos and eos; default GPT-2's 50256 when the vocabulary is GPT-2's.

    Returns:
        `folder`, as a Path.

    Raises:
        HFFormatError: `folder` exists and is not a model folder, a tokenizer file name is not a plain name, or the
            disk refused a write.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    files = dict(tokenizer_files or {})
    for name in files:
        if name in ("", ".", "..") or Path(name).name != name or name in (CONFIG, SAFETENSORS):
            raise HFFormatError(f"cannot export to {folder}: {name!r} is not a plain tokenizer file name")
    if folder.exists() and not (folder.is_dir() and ((folder / CONFIG).is_file() or not any(folder.iterdir()))):
        raise HFFormatError(f"cannot export to {folder}: it exists and is not a model folder; choose another path")
    if eot_id is None and model.config.vocab_size == GPT2_VOCAB_SIZE:
        eot_id = GPT2_EOT_ID
    temporary = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary.mkdir()
        config_text = json.dumps(hf_config(model.config, eot_id), indent=2) + "\n"
        (temporary / CONFIG).write_text(config_text, encoding="utf-8")
        save_file(hf_state(model), str(temporary / SAFETENSORS), metadata={"format": "pt"})
        for name, contents in files.items():
            (temporary / name).write_bytes(contents)
        _replace(temporary, folder)
    except OSError as error:
        raise HFFormatError(f"cannot export to {folder} ({error}); check free disk space and permissions") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)  # gone already when the export succeeded
    return folder


def hf_config(config: GPTConfig, eot_id: int | None) -> dict[str, Any]:
    """A `GPT2LMHeadModel` config.json for `config`; eot_id (if any) is the bos and eos token."""
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.context_length,
        "n_ctx": config.context_length,
        "n_embd": config.embed_dim,
        "n_layer": config.num_layers,
        "n_head": config.num_heads,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_eps,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "torch_dtype": "float32",
    }


def hf_state(model: GPT) -> dict[str, torch.Tensor]:
    """`model`'s weights under Hugging Face's names and layout: fp32, CPU, Conv1D weights transposed, no lm_head."""
    import torch

    if not model.config.bias:
        raise HFFormatError("cannot export a GPT without biases: GPT-2's format always has them")
    state: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to transformer.wte.weight; transformers ties it again on load
        tensor = tensor.detach().to(device="cpu", dtype=torch.float32)
        if name.endswith(CONV1D_WEIGHTS):
            tensor = tensor.t()  # Linear (out, in) -> Conv1D (in, out)
        state[name] = tensor.contiguous()
    return state


def _read_config(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HFFormatError(f"cannot read {file} ({error}); it is damaged") from None
    if not isinstance(data, dict):
        raise HFFormatError(f"{file} is not a JSON object; it is damaged")
    return data


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The tensors of `folder`'s weights file(s), in whichever of the three layouts it has."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        if (folder / SAFETENSORS).is_file():
            return load_file(str(folder / SAFETENSORS))
        if (folder / SAFETENSORS_INDEX).is_file():
            index = json.loads((folder / SAFETENSORS_INDEX).read_text(encoding="utf-8"))
            weights: dict[str, torch.Tensor] = {}
            for shard in sorted(set(index["weight_map"].values())):
                weights.update(load_file(str(folder / shard)))
            return weights
        if (folder / PICKLE).is_file():
            loaded = torch.load(folder / PICKLE, map_location="cpu", weights_only=True)
            if not isinstance(loaded, dict):
                raise HFFormatError(f"{folder / PICKLE} does not hold a state dict; it is damaged")
            return loaded
    except (SafetensorError, OSError, RuntimeError, ValueError, KeyError, TypeError, EOFError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise HFFormatError(f"cannot read the weights in {folder} ({first_line}); the files are damaged") from None
    raise HFFormatError(f"{folder} has no weights: it lacks {SAFETENSORS} and {PICKLE}; download or copy them there")


def _fourfold_state(weights: Mapping[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Hugging Face GPT-2 tensors renamed and transposed into `GPT.state_dict()`'s names and layout."""
    import torch

    state: dict[str, torch.Tensor] = {}
    head = None
    for name, tensor in weights.items():
        if name.endswith(MASK_BUFFERS):
            continue  # the causal mask GPT2Attention kept as a buffer; fourfold's attention makes its own
        if name == "lm_head.weight":
            head = tensor
            continue
        name = name if name.startswith(PREFIX) else PREFIX + name  # (a GPT2Model file has no prefix)
        state[name] = tensor.t() if name.endswith(CONV1D_WEIGHTS) else tensor  # Conv1D (in, out) -> (out, in)
    embedding = state.get(PREFIX + "wte.weight")
    if head is not None and embedding is not None and not torch.equal(head, embedding):
        raise HFFormatError(
            f"{source} has an lm_head.weight that differs from transformer.wte.weight; fourfold's GPT ties them, "
            "as GPT-2 does, so this untied model cannot be imported"
        )
    if embedding is not None:
        state["lm_head.weight"] = embedding
    return state


def _replace(temporary: Path, folder: Path) -> None:
    """Rename `temporary` to `folder`, moving an existing `folder` aside first and deleting it afterwards."""
    old = folder.parent / f".{folder.name}.old-{os.getpid()}-{secrets.token_hex(4)}" if folder.exists() else None
    if old is not None:
        os.rename(folder, old)
    os.rename(temporary, folder)
    if old is not None:
        shutil.rmtree(old)
