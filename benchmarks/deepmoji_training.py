"""DeepMoji training and tokenizer speed: fourfold's training step against a plain PyTorch port, and fourfold's
DeepMoji tokenizer beside GPT-2's BPE.

Training. fourfold runs `fourfold.deepmoji.train.train_epoch`, the loop `fourfold deepmoji pretrain` runs: texts
shuffled, sorted by length within windows of 32 batches of 64, packed sequences (no LSTM step reads padding),
DeepMoji's dropout (0.25 on whole embedding channels, 0.5 before the head), cross-entropy plus the paper's 1e-6
L2 on the embedding, the global gradient norm clipped to 1, `torch.optim.Adam` at 1e-3 (the optimizer pretraining
builds). The peer is the plain port of `deepmoji_inference` (embedding, two bidirectional `nn.LSTM` layers over
the padded batch, attention, head) trained the plain way: batches of 64 in data order, each padded to its
longest text, the same dropout, loss, L2, clipping and Adam. Both start from the same weights (PyTorch's
initialisation, copied into fourfold's model) and train on the same synthetic texts (token ids of tweet-like
lengths, random labels of 64 classes; `deepmoji_inference.synthetic_texts`). After one warm-up batch each, both
train 3 epochs with their batches interleaved: fourfold's i-th batch of the epoch (the length-bucketed batches
`train_epoch` makes for that epoch, each run through `train_epoch` itself), then the port's i-th, the side going
first alternating, so that both see the same load on a shared machine. The figure is texts per second over the
median epoch. The texts are few (3 batches at full size, 12 at small; a multiple of 64 within one sorting window
of 2,048, so both sides have the same batches per epoch) to keep the script within minutes on 2 cores. That
understates bucketing a little: pretraining sorts 2,048 texts at a time, so its batches are more alike in length
than these few texts allow, and fourfold gains with more of them.

Tokenizer. fourfold's DeepMoji tokenizer (`Vocabulary.encode`: cleaning, tokenizing, shortening, special tokens,
ids, padding to 50) on the TweetEval emoji training tweets when $FOURFOLD_DATA has them (else synthetic
tweet-like texts), with a vocabulary built from the same texts beforehand. Beside it, GPT-2's byte-level BPE in
the Rust `tokenizers` library (`encode_batch`, parallel over the texts) on the same texts: a different
tokenizer, so only a reference for how fast tokenizing tweets can be, not a like-for-like comparison.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn

from fourfold.bench import BenchRow, print_rows
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.batching import length_batches, row_lengths
from fourfold.deepmoji.config import ModelConfig, preset
from fourfold.deepmoji.model import DeepMoji
from fourfold.deepmoji.tokenizer import Vocabulary
from fourfold.deepmoji.train import Encoded, loss_function, train_epoch
from fourfold.gpt.tokenizer import BPETokenizer

BATCH_SIZE = 64
LEARNING_RATE = 1e-3
GRAD_CLIP = 1.0
EMBED_L2 = 1e-6
MAX_LENGTH = 50
TRAIN_REPEATS = 3
TOKENIZER_REPEATS = 3


def _sibling(name: str) -> ModuleType:
    """The benchmark script `name` beside this one, as a module (benchmarks/ is not a package)."""
    module_name = f"fourfold_benchmark_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, Path(__file__).with_name(f"{name}.py"))
    if spec is None or spec.loader is None:
        raise FourfoldError(f"cannot load the benchmark script {name}.py beside {Path(__file__).name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


_inference = _sibling("deepmoji_inference")
PlainDeepMoji = _inference.PlainDeepMoji
copy_weights = _inference.copy_weights
check_same_network = _inference.check_same_network
synthetic_texts = _inference.synthetic_texts


class PlainTrainingDeepMoji(PlainDeepMoji):  # type: ignore[misc, valid-type]
    """The plain port with DeepMoji's training dropout: whole embedding channels (0.25), then 0.5 before the head."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.embed_dropout = nn.Dropout1d(config.embed_dropout)
        self.final_dropout = nn.Dropout(config.final_dropout)

    def forward(self, token_ids: Tensor) -> Tensor:
        mask = token_ids != 0  # (B, T)
        x = torch.tanh(self.embed(token_ids))  # (B, T, E)
        x = self.embed_dropout(x.transpose(1, 2)).transpose(1, 2)  # channels dropped per text
        lstm_0_output, _ = self.lstm_0(x)  # (B, T, 2H)
        lstm_1_output, _ = self.lstm_1(lstm_0_output)  # (B, T, 2H)
        features = torch.cat([lstm_1_output, lstm_0_output, x], dim=2)  # (B, T, A)
        scores = (features @ self.attention_vector).masked_fill(~mask, float("-inf"))  # (B, T)
        weights = torch.softmax(scores, dim=1)  # (B, T)
        pooled = (weights.unsqueeze(2) * features).sum(dim=1)  # (B, A)
        logits: Tensor = self.output_layer(self.final_dropout(pooled))  # (B, C)
        return logits


def plain_step(model: PlainTrainingDeepMoji, optimizer: torch.optim.Optimizer, data: Encoded, start: int) -> float:
    """The port's training step on the batch of 64 texts from `start` in data order, padded to its longest; the loss."""
    model.train()
    ids, targets = data.ids[start : start + BATCH_SIZE], torch.from_numpy(data.targets[start : start + BATCH_SIZE])
    width = int(np.count_nonzero(ids, axis=1).max())
    logits = model(torch.from_numpy(ids[:, :width]))  # (B, C)
    loss = loss_function(logits, targets, multilabel=False)
    objective = loss + EMBED_L2 * model.embed.weight.pow(2).sum()
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    optimizer.step()
    return float(loss.item())


def fourfold_step(model: DeepMoji, optimizer: torch.optim.Optimizer, data: Encoded, rows: np.ndarray) -> float:
    """fourfold's training step on one length-bucketed batch: `train_epoch` over just these rows; the loss."""
    loss, _ = train_epoch(
        model,
        optimizer,
        Encoded(data.ids[rows], data.targets[rows]),
        multilabel=False,
        batch_size=BATCH_SIZE,
        rng=np.random.default_rng(0),
        grad_clip=GRAD_CLIP,
        embed_l2=EMBED_L2,
    )
    return loss


def rate(count: int, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def measure_training(name: str, count: int, threads: int, repeats: int) -> BenchRow:
    """Training texts/s of fourfold's loop and the plain port, interleaved, on the same texts and weights."""
    config = preset(name)
    torch.manual_seed(0)
    plain = PlainTrainingDeepMoji(config)
    model = DeepMoji(config)
    copy_weights(plain, model)
    token_ids = synthetic_texts(count, config.vocab_size)
    check_same_network(model, plain, token_ids)
    data = Encoded(token_ids, np.random.default_rng(1).integers(0, config.num_classes, count))
    lengths = row_lengths(token_ids)
    ours_optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=True)  # as pretrain builds it
    plain_optimizer = torch.optim.Adam(plain.parameters(), lr=LEARNING_RATE)
    fourfold_step(model, ours_optimizer, data, np.arange(BATCH_SIZE))  # warm-up
    plain_step(plain, plain_optimizer, data, 0)

    # Epochs of batch pairs: fourfold's batch i (its epoch's length-bucketed batches, as train_epoch makes them)
    # and the port's batch i (data order), the side going first alternating, so that both see the same load.
    ours, theirs, ours_loss, plain_loss = [], [], [], []
    for epoch in range(1, repeats + 1):
        batches = length_batches(lengths, BATCH_SIZE, rng=np.random.default_rng([0, epoch]))
        seconds = {"fourfold": 0.0, "port": 0.0}
        losses = {"fourfold": 0.0, "port": 0.0}
        for index, rows in enumerate(batches):
            for side in ("fourfold", "port") if index % 2 else ("port", "fourfold"):
                start = time.perf_counter()
                if side == "fourfold":
                    loss = fourfold_step(model, ours_optimizer, data, rows)
                else:
                    loss = plain_step(plain, plain_optimizer, data, index * BATCH_SIZE)
                seconds[side] += time.perf_counter() - start
                losses[side] += loss / len(batches)
        ours.append(count / seconds["fourfold"])
        theirs.append(count / seconds["port"])
        ours_loss.append(losses["fourfold"])
        plain_loss.append(losses["port"])
    print(
        f"  {name} training: texts/s by epoch fourfold {[round(r, 1) for r in ours]},"
        f" port {[round(r, 1) for r in theirs]};"
        f" mean loss by epoch fourfold {[round(x, 3) for x in ours_loss]}, port {[round(x, 3) for x in plain_loss]}",
        file=sys.stderr,
    )
    what = (
        f"training, {name} preset ({config.num_parameters / 1e6:.1f}M parameters), {count} tweet-length texts,"
        f" batch {BATCH_SIZE}, fourfold train_epoch (length-bucketed, packed)"
    )
    peer = "plain PyTorch port (padded nn.LSTM, data order; same Adam, clip 1, dropout, loss + embedding L2)"
    return BenchRow(what, statistics.median(ours), peer, statistics.median(theirs), "texts/s", threads)


def tweet_texts(limit: int) -> tuple[list[str], str]:
    """Up to `limit` TweetEval emoji training tweets, or synthetic tweet-like texts where the data is absent."""
    from fourfold.core.data import DataNotFoundError
    from fourfold.deepmoji.data import load_dataset

    try:
        texts = list(load_dataset("tweeteval/emoji", download=False).train.texts[:limit])
        return texts, f"{len(texts):,} TweetEval emoji training tweets"
    except DataNotFoundError:
        texts = synthetic_tweets(limit)
        return texts, f"{len(texts):,} synthetic tweet-like texts (TweetEval not found through $FOURFOLD_DATA)"


def synthetic_tweets(count: int, seed: int = 0) -> list[str]:
    """Tweet-like texts: words, mentions, hashtags, URLs, numbers, emoticons, elongated words and emoji."""
    rng = np.random.default_rng(seed)
    common = [
        "i",
        "you",
        "the",
        "a",
        "to",
        "and",
        "is",
        "it",
        "my",
        "so",
        "this",
        "love",
        "that",
        "of",
        "in",
        "for",
        "me",
    ]
    common += ["be", "not", "just", "day", "happy", "lol", "what", "so", "good", "night", "today", "can't", "wait"]
    extras = ["@user", "#blessed", "#tbt", "http://t.co/x1Yz", "2017", ":-)", ":D", "<3", "soooo", "!!!", "😂", "❤️"]
    texts = []
    for _ in range(count):
        words = [
            str(rng.choice(extras)) if rng.random() < 0.15 else str(rng.choice(common))
            for _ in range(max(1, round(rng.gamma(3.0, 4.0))))
        ]
        texts.append(" ".join(words))
    return texts


def measure_tokenizer(texts: Sequence[str], source: str, threads: int, repeats: int) -> BenchRow:
    """Texts/s of fourfold's DeepMoji tokenizer (to padded ids) and of GPT-2's BPE in `tokenizers` (to ids)."""
    vocabulary = Vocabulary.build(texts)
    bpe = BPETokenizer.gpt2()
    vocabulary.encode(texts[:100], MAX_LENGTH)  # warm-up
    bpe.encode_batch(texts[:100])
    ours, theirs, theirs_one_by_one = [], [], []
    for _ in range(repeats):
        ours.append(rate(len(texts), lambda: vocabulary.encode(texts, MAX_LENGTH)))
        theirs.append(rate(len(texts), lambda: bpe.encode_batch(texts)))
        theirs_one_by_one.append(rate(len(texts), lambda: [bpe.encode(text) for text in texts]))
    print(
        f"  tokenizer: texts/s fourfold {[round(r) for r in ours]},"
        f" GPT-2 BPE encode_batch {[round(r) for r in theirs]},"
        f" one text at a time {[round(r) for r in theirs_one_by_one]}; vocabulary {vocabulary.size:,} words",
        file=sys.stderr,
    )
    what = (
        f"tokenizer: DeepMoji words to padded ids (vocabulary of {vocabulary.size:,} from the same texts), {source},"
        " one Python thread"
    )
    peer = "GPT-2 byte-level BPE, Rust `tokenizers` encode_batch (a different tokenizer: speed reference only)"
    return BenchRow(what, statistics.median(ours), peer, statistics.median(theirs), "texts/s", threads)


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Training texts/s (full and small presets, fourfold against the plain port) and tokenizer texts/s."""
    torch.set_num_threads(threads)
    repeats = 1 if quick else TRAIN_REPEATS
    texts, source = tweet_texts(5_000 if quick else 45_000)
    return [
        measure_training("full", BATCH_SIZE if quick else 3 * BATCH_SIZE, threads, repeats),
        measure_training("small", 2 * BATCH_SIZE if quick else 12 * BATCH_SIZE, threads, repeats),
        measure_tokenizer(texts, source, threads, 1 if quick else TOKENIZER_REPEATS),
    ]


if __name__ == "__main__":
    print_rows(run(threads=2, quick=False))
