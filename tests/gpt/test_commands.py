"""The GPT commands as a user types them: sample from a Hugging Face folder, eval --json, export, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from fourfold.cli import main
from fourfold.gpt.tokenizer import BPETokenizer


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random GPT-2 with GPT-2's vocabulary, saved without tokenizer files (so GPT-2's is used)."""
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=50257)
    model = GPT2LMHeadModel(config).eval()
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(folder)
    return folder


def test_sample_greedy_from_a_hugging_face_folder_matches_transformers(
    hf_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = "The meaning of life is"
    flags = ["--prompt", prompt, "--max-new-tokens", "12", "--temperature", "0", "--device", "cpu", "--json"]
    code = main(["gpt", "sample", "--checkpoint", str(hf_folder), *flags])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    tokenizer = BPETokenizer.gpt2()
    ids = torch.tensor([tokenizer.encode(prompt)])
    reference = GPT2LMHeadModel.from_pretrained(hf_folder).eval()
    expected = reference.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=50256)[0, ids.shape[1] :]
    assert summary["continuations"] == [tokenizer.decode(expected.tolist())]


def test_sample_streams_the_prompt_and_its_continuation(hf_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpt", "sample", "--checkpoint", str(hf_folder), "--prompt", "Hello", "--max-new-tokens", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hello") and len(out) > len("Hello\n")
    assert "continuations" not in out  # streamed: the summary does not print it twice


def test_eval_json_and_export_round_trip(hf_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "page.txt"
    text.write_text("It was the best of times, it was the worst of times. " * 4)
    assert main(["gpt", "eval", "--checkpoint", str(hf_folder), "--data", str(text), "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "file" and result["tokens"] > 0
    assert 9.0 < result["loss"] < 12.0  # a random model is near ln(50257) = 10.8

    # export the imported model, reload it in transformers: same logits
    from fourfold.gpt.pretrained import load_pretrained

    checkpoint = tmp_path / "ckpt"
    from fourfold.core.checkpoint import save_checkpoint

    pretrained = load_pretrained(hf_folder)
    save_checkpoint(
        checkpoint,
        model=pretrained.model.state_dict(),
        config=pretrained.model.config,
        state={"tokenizer": pretrained.tokenizer.to_dict()},
        kind="gpt",
    )
    assert main(["gpt", "export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "hf"), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(exported["files"])
    ids = torch.tensor([[464, 3290, 318, 257]])
    with torch.no_grad():
        ours = GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()(ids).logits
        theirs = GPT2LMHeadModel.from_pretrained(hf_folder).eval()(ids).logits
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["gpt", "sample", "--checkpoint", "/nonexistent/model"], "/nonexistent/model"),
        (["gpt", "train", "--data", "/nonexistent/data"], "no prepared data in /nonexistent/data"),
        (["gpt", "train", "--data", "x", "--preset", "gpt5", "--num-steps", "1"], "unknown preset 'gpt5'"),
        (["gpt", "prepare", "--sources", "/nonexistent/corpus.txt", "--tokenizer", "char"], "/nonexistent/corpus.txt"),
        (["gpt", "sample", "--checkpoint", "x", "--top-p", "2"], "--top-p: must be in (0, 1]"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    if "gpt5" in args:  # a real prepared folder, so that the preset is what fails
        corpus = tmp_path / "c.txt"
        corpus.write_text("abc " * 100)
        assert main(["gpt", "prepare", "--sources", str(corpus), "--tokenizer", "char", "--out", "x"]) == 0
        capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err
