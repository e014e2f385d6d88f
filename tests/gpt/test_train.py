"""GPT training: it learns, resumes exactly (also after a real kill), fine-tunes, and DDP equals one process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fourfold.core.checkpoint import latest_checkpoint, load_checkpoint
from fourfold.core.config import ConfigError
from fourfold.core.errors import FourfoldError
from fourfold.core.runlog import read_metrics
from fourfold.gpt.config import EvalConfig, PrepareConfig, TrainConfig
from fourfold.gpt.evaluate import evaluate
from fourfold.gpt.prepare import prepare
from fourfold.gpt.train import train

CORPUS = [
    "the cat sat on the mat and the dog sat on the log. " * 8,
    "a stitch in time saves nine, and nine stitches save a coat. " * 8,
    "to be or not to be, that is the question we ask of the cat. " * 8,
    "all that glitters is not gold, said the dog to the cat on the mat. " * 8,
    "the quick brown fox jumps over the lazy dog by the log. " * 8,
    "### Prompt\nthe cat 0123456789\n\n### Response\nsat on the mat.\n" * 4,
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A tiny character-level prepared corpus of five documents."""
    folder = tmp_path / "texts"
    folder.mkdir()
    for i, text in enumerate(CORPUS):
        (folder / f"{i}.txt").write_text(text)
    out = tmp_path / "data"
    prepare(PrepareConfig(sources=(folder,), out=out, tokenizer="char", val_fraction=0.2))
    return out


def _config(data: Path, runs: Path, **changes: object) -> TrainConfig:
    settings: dict[str, object] = dict(
        data=data,
        runs=runs,
        preset="toy",
        context_length=32,
        batch_size=4,
        num_steps=40,
        warmup_steps=5,
        learning_rate=3e-3,
        eval_interval=20,
        eval_batches=2,
        log_interval=5,
        checkpoint_interval=10,
        keep_checkpoints=10,
        peak_flops=1e11,
        threads=1,
        dropout=0.1,
    )
    settings.update(changes)
    return TrainConfig(**settings)  # type: ignore[arg-type]


def _losses(run_dir: Path) -> list[tuple[int, float]]:
    return [(int(m["step"]), m["train/loss"]) for m in read_metrics(run_dir / "metrics.jsonl") if "train/loss" in m]


def test_training_learns_and_writes_a_run(corpus: Path, tmp_path: Path) -> None:
    summary = train(_config(corpus, tmp_path / "runs"))
    run_dir = Path(summary.run_dir)
    assert summary.steps == 40
    assert (run_dir / "config.json").is_file()
    losses = _losses(run_dir)
    assert [s for s, _ in losses] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert losses[-1][1] < losses[0][1] - 0.5, losses  # from ~ln(V) towards the corpus's few characters
    assert summary.val_loss is not None and summary.val_loss < 3.0
    checkpoint = load_checkpoint(summary.checkpoint, kind="gpt")
    assert checkpoint.step == 40
    assert set(checkpoint.state) >= {"optimizer", "rng", "tokenizer", "train_config"}
    assert summary.tokens_per_second > 0 and summary.mfu > 0


@pytest.mark.parametrize(("precision", "optimizer"), [("fp32", "adamw"), ("bf16", "adamw"), ("bf16", "muon")])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(
    corpus: Path, tmp_path: Path, precision: str, optimizer: str
) -> None:
    settings = {"precision": precision, "optimizer": optimizer}
    whole = train(_config(corpus, tmp_path / "a", **settings))
    # What a kill after step 20's checkpoint leaves: a run whose newest checkpoint is step 20, with metrics
    # logged past it. Resuming must reproduce the uninterrupted run, losses and weights alike (under bf16 the
    # checkpoint holds the fp32 master weights, from which the bf16 copy is made again).
    cut = train(_config(corpus, tmp_path / "b", **settings))
    for step in (30, 40):
        shutil.rmtree(Path(cut.run_dir) / "checkpoints" / f"step_{step:08d}")
    resumed = train(_config(corpus, tmp_path / "b", resume=True, **settings))
    assert resumed.steps == 40
    assert _losses(Path(resumed.run_dir)) == _losses(Path(whole.run_dir))
    a = load_checkpoint(whole.checkpoint).model
    b = load_checkpoint(resumed.checkpoint).model
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(tensor.dtype == torch.float32 for tensor in b.values())


@pytest.mark.slow
def test_bf16_loss_curve_stays_within_one_percent_of_fp32(corpus: Path, tmp_path: Path) -> None:
    # The same initial weights (seed) and batches; only the precision differs. The bar: the loss curve
    # within 1 % of fp32's; compared as 10-step running means, since single steps are noisier than the gap.
    curves = {}
    for precision in ("fp32", "bf16"):
        settings = {"precision": precision, "num_steps": 150, "log_interval": 1, "dropout": 0.0}
        summary = train(_config(corpus, tmp_path / precision, eval_interval=150, checkpoint_interval=150, **settings))
        curves[precision] = [loss for _, loss in _losses(Path(summary.run_dir))]
    assert len(curves["fp32"]) == 150
    assert curves["fp32"][-1] < curves["fp32"][0] - 1.0  # it learned, so the comparison covers a real descent
    for end in range(10, 151):
        fp32 = sum(curves["fp32"][end - 10 : end]) / 10
        bf16 = sum(curves["bf16"][end - 10 : end]) / 10
        assert abs(bf16 - fp32) <= 0.01 * fp32, (end, fp32, bf16)


@pytest.mark.slow
def test_resume_after_a_real_kill_matches(corpus: Path, tmp_path: Path) -> None:
    whole = train(_config(corpus, tmp_path / "a", num_steps=400, checkpoint_interval=25, eval_interval=100))
    runs = tmp_path / "b"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fourfold.gpt.config import TrainConfig\n"
        "from fourfold.gpt.train import train\n"
        f"train(TrainConfig(data=Path({str(corpus)!r}), runs=Path({str(runs)!r}), preset='toy', context_length=32,"
        " batch_size=4, num_steps=400, warmup_steps=5, learning_rate=3e-3, eval_interval=100, eval_batches=2,"
        " log_interval=5, checkpoint_interval=25, keep_checkpoints=10, peak_flops=1e11, threads=1, dropout=0.1))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    checkpoints = runs / "gpt" / "default" / "checkpoints"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (checkpoints.exists() and len(list(checkpoints.glob("step_*"))) >= 3):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    latest = latest_checkpoint(checkpoints)
    assert latest is not None and load_checkpoint(latest).step < 400
    resumed = train(_config(corpus, runs, num_steps=400, checkpoint_interval=25, eval_interval=100, resume=True))
    assert _losses(Path(resumed.run_dir)) == _losses(Path(whole.run_dir))


def test_fine_tune_from_a_checkpoint_and_supervised(corpus: Path, tmp_path: Path) -> None:
    base = train(_config(corpus, tmp_path / "runs", num_steps=20))
    tuned = train(_config(corpus, tmp_path / "runs", name="tuned", init_from=Path(base.checkpoint), num_steps=10))
    assert tuned.steps == 10
    records = tmp_path / "sft.jsonl"
    lines = [{"prompt": f"the cat {i}", "response": "sat on the mat."} for i in range(12)]
    records.write_text("".join(json.dumps(line) + "\n" for line in lines))
    sft = train(
        _config(None, tmp_path / "runs", sft=records, name="sft", init_from=Path(base.checkpoint), num_steps=30)  # type: ignore[arg-type]
    )
    losses = _losses(Path(sft.run_dir))
    assert losses[-1][1] < losses[0][1]
    assert sft.val_loss is not None


def test_bad_input_gives_one_clear_error(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset 'gpt5'"):
        train(_config(corpus, tmp_path / "r1", preset="gpt5"))
    with pytest.raises(FourfoldError, match="no prepared data"):
        train(_config(tmp_path / "nowhere", tmp_path / "r2"))
    with pytest.raises(FourfoldError, match="nothing to resume"):
        train(_config(corpus, tmp_path / "r3", resume=True))
    with pytest.raises(ConfigError, match="exactly one of --data and --sft"):
        TrainConfig()
    other = tmp_path / "other"
    prepare(PrepareConfig(sources=(corpus.parent / "texts",), out=other, tokenizer="bpe", vocab_size=300))
    base = train(_config(corpus, tmp_path / "r4", num_steps=2))
    with pytest.raises(FourfoldError, match="another tokenizer"):
        train(_config(other, tmp_path / "r4", name="x", init_from=Path(base.checkpoint), num_steps=2))
    train(_config(corpus, tmp_path / "r5", num_steps=2))
    with pytest.raises(FourfoldError, match="already exists"):
        train(_config(corpus, tmp_path / "r5", num_steps=2))


def test_evaluate_is_a_deterministic_full_pass(corpus: Path, tmp_path: Path) -> None:
    summary = train(_config(corpus, tmp_path / "runs", num_steps=10))
    first = evaluate(EvalConfig(checkpoint=Path(summary.checkpoint), data=corpus, batch_size=3, threads=1))
    second = evaluate(EvalConfig(checkpoint=Path(summary.checkpoint), data=corpus, batch_size=7, threads=1))
    assert first.loss == pytest.approx(second.loss, rel=1e-6)
    assert first.tokens == second.tokens > 0
    assert first.perplexity == pytest.approx(torch.tensor(first.loss).exp().item(), rel=1e-6)
    assert first.bits_per_byte == pytest.approx(first.loss * first.tokens / 0.6931471805599453 / first.bytes)
    text = tmp_path / "one.txt"
    text.write_text(CORPUS[0])
    on_file = evaluate(EvalConfig(checkpoint=Path(summary.checkpoint), data=text, threads=1))
    # every character but the first is predicted once (this tokenizer has no end-of-text id)
    assert on_file.split == "file" and on_file.bytes == len(CORPUS[0]) and on_file.tokens == len(CORPUS[0]) - 1


@pytest.mark.slow
def test_two_processes_make_the_same_update_as_one(corpus: Path, tmp_path: Path) -> None:
    common = (
        f"data=Path({str(corpus)!r}), preset='toy', context_length=32, num_steps=3, warmup_steps=1,"
        " learning_rate=3e-3, eval_interval=100, eval_batches=1, log_interval=1, checkpoint_interval=3,"
        " peak_flops=1e11, threads=1, straddle=True"
    )
    script = tmp_path / "ddp.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from fourfold.gpt.config import TrainConfig\n"
        "from fourfold.gpt.train import train\n"
        f"train(TrainConfig({common}, runs=Path(sys.argv[1]), batch_size=int(sys.argv[2])))\n"
    )
    single = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "one"), "4"], capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 0, single.stderr
    double = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(tmp_path / "two"),
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert double.returncode == 0, double.stderr
    one = load_checkpoint(tmp_path / "one" / "gpt" / "default" / "checkpoints" / "step_00000003").model
    two = load_checkpoint(tmp_path / "two" / "gpt" / "default" / "checkpoints" / "step_00000003").model
    for key in one:
        # Reduction order differs between one process and two; Adam turns the near-zero gradients of the key biases
        # into full steps of either sign, so allow 1e-5 (a wrong update differs by the learning rate, 3e-3).
        torch.testing.assert_close(one[key], two[key], rtol=1e-4, atol=1e-5, msg=key)
