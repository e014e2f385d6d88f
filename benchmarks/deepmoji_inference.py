"""DeepMoji inference: fourfold's model and batching against a plain PyTorch port of the same network.

The peer is what a straightforward port of DeepMoji looks like (Felbo et al. 2017; the Keras model of
bfelbo/DeepMoji): embedding with tanh, two bidirectional `nn.LSTM` layers run over the padded batch, attention
over [lstm_1, lstm_0, embedding] masked to the real tokens, linear head; batches of 64 texts in data order, each
padded to its longest text, eval mode, `torch.no_grad`, float32. Its weights are PyTorch's default random
initialisation (embedding N(0, 1)), copied into fourfold's model (the port's two LSTM biases summed into
fourfold's one), and both read the same synthetic texts: token ids of tweet-like lengths (a gamma distribution
with mean 15, cut to 1..50 words). PyTorch's initialisation rather than Keras's (fourfold's default), because
Keras's small embedding (±0.05) makes an untrained network's logits nearly equal (spread about 0.007), and
agreement of the top class among near-ties says little about a trained model.

fourfold runs `predict_logits`: texts sorted by length within windows of 32 batches of 64, packed sequences
(no LSTM step reads padding), `torch.inference_mode`, and bf16 embedding and LSTM weights only when a bf16
copy predicts the same top class as float32 for at least 99.9% of the texts (measured here on the benchmark's
texts and reported, with the figure at Keras's initialisation beside it; otherwise float32, and the bf16 rate is
only printed). Both sides compute every text; the figure is texts per second over the median of 5 timed passes,
interleaved so that both see the same machine load.

Agreement of the top class between fourfold and the port is printed too: it is below 100% because the port's
backward LSTM reads the padding of the shorter texts of a batch (Keras masked it; packing skips it), so the
port's predictions for padded texts are not quite DeepMoji's. On a batch without padding the two agree to
float precision, which the benchmark checks before timing.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from fourfold.bench import BenchRow, print_rows
from fourfold.deepmoji.batching import BF16_MIN_AGREEMENT, bf16_agreement, bf16_copy, predict_logits
from fourfold.deepmoji.config import ModelConfig, preset
from fourfold.deepmoji.model import DeepMoji

REPEATS = 5
BATCH_SIZE = 64
MEAN_LENGTH, MAX_LENGTH = 15.0, 50
GAMMA_SHAPE = 3.0
"""Text lengths ~ Gamma(3, 5): mean 15 words, standard deviation 8.7, cut to 1..50."""


class PlainDeepMoji(nn.Module):
    """A plain port of DeepMoji: padded batches through `nn.LSTM`, no packing, no length sorting."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.lstm_0 = nn.LSTM(config.embed_dim, hidden, batch_first=True, bidirectional=True)
        self.lstm_1 = nn.LSTM(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.attention_vector = nn.Parameter(torch.empty(config.attention_size).uniform_(-0.05, 0.05))
        self.output_layer = nn.Linear(config.attention_size, config.num_classes)

    def forward(self, token_ids: Tensor) -> Tensor:
        mask = token_ids != 0  # (B, T)
        x = torch.tanh(self.embed(token_ids))  # (B, T, E)
        lstm_0_output, _ = self.lstm_0(x)  # (B, T, 2H)
        lstm_1_output, _ = self.lstm_1(lstm_0_output)  # (B, T, 2H)
        features = torch.cat([lstm_1_output, lstm_0_output, x], dim=2)  # (B, T, A)
        scores = (features @ self.attention_vector).masked_fill(~mask, float("-inf"))  # (B, T)
        weights = torch.softmax(scores, dim=1)  # (B, T)
        pooled = (weights.unsqueeze(2) * features).sum(dim=1)  # (B, A)
        logits: Tensor = self.output_layer(pooled)  # (B, C)
        return logits


def copy_weights(source: PlainDeepMoji, target: DeepMoji) -> None:
    """Give fourfold's model the port's weights; the port's two LSTM biases are summed into fourfold's one."""
    with torch.no_grad():
        target.embedding.weight.copy_(source.embed.weight)
        for theirs, ours in zip((source.lstm_0, source.lstm_1), target.lstm, strict=True):
            for suffix in ("_l0", "_l0_reverse"):
                getattr(ours, "weight_ih" + suffix).copy_(getattr(theirs, "weight_ih" + suffix))
                getattr(ours, "weight_hh" + suffix).copy_(getattr(theirs, "weight_hh" + suffix))
                bias = getattr(theirs, "bias_ih" + suffix) + getattr(theirs, "bias_hh" + suffix)
                getattr(ours, "bias_ih" + suffix).copy_(bias)
        target.attention.copy_(source.attention_vector)
        target.head.weight.copy_(source.output_layer.weight)
        target.head.bias.copy_(source.output_layer.bias)


def synthetic_texts(count: int, vocab_size: int, seed: int = 0) -> np.ndarray:
    """Padded token ids (N, 50) of tweet-like lengths; word ids Zipf-distributed over the vocabulary."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.gamma(GAMMA_SHAPE, MEAN_LENGTH / GAMMA_SHAPE, count)), 1, MAX_LENGTH)
    token_ids = np.zeros((count, MAX_LENGTH), dtype=np.int64)  # (N, T)
    for row, length in enumerate(lengths.astype(np.int64)):
        token_ids[row, :length] = 10 + (rng.zipf(1.3, length) - 1) % (vocab_size - 10)
    return token_ids


def plain_logits(model: PlainDeepMoji, token_ids: np.ndarray) -> Tensor:
    """The port's logits (N, C): batches of 64 in data order, each padded to its longest text."""
    model.eval()
    lengths = np.count_nonzero(token_ids, axis=1)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(token_ids), BATCH_SIZE):
            width = int(lengths[start : start + BATCH_SIZE].max())
            outputs.append(model(torch.from_numpy(token_ids[start : start + BATCH_SIZE, :width])))
    return torch.cat(outputs)


def check_same_network(ours: DeepMoji, plain: PlainDeepMoji, token_ids: np.ndarray) -> None:
    """On texts without padding, both networks must compute the same logits."""
    lengths = np.count_nonzero(token_ids, axis=1)
    rows = np.flatnonzero(lengths == np.bincount(lengths).argmax())[:16]
    batch = torch.from_numpy(token_ids[rows, : lengths[rows[0]]])
    with torch.inference_mode():
        difference = (ours.eval()(batch) - plain.eval()(batch)).abs().max().item()
    assert difference < 1e-4, f"fourfold and the port disagree by {difference} on unpadded texts"


def rate(count: int, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def measure(name: str, count: int, threads: int, repeats: int) -> list[BenchRow]:
    """Texts per second of fourfold (float32, and bf16 where it keeps the predictions) and the port."""
    config = preset(name)
    torch.manual_seed(0)
    plain = PlainDeepMoji(config).eval()
    model = DeepMoji(config).eval()
    copy_weights(plain, model)
    token_ids = synthetic_texts(count, config.vocab_size)
    check_same_network(model, plain, token_ids)

    # bf16 only where the top class stays put, here and, for the record, at Keras's initialisation.
    agreement_bf16 = bf16_agreement(model, token_ids, BATCH_SIZE)
    agreement_keras_init = bf16_agreement(DeepMoji(config), token_ids, BATCH_SIZE)
    use_bf16 = agreement_bf16 >= BF16_MIN_AGREEMENT
    lowered = bf16_copy(model)  # timed either way, reported as a row only where it is used

    # Warm-up passes, which also give the predictions compared.
    predictions = predict_logits(model, token_ids, BATCH_SIZE).argmax(dim=1)
    agreement_plain = float((predictions == plain_logits(plain, token_ids).argmax(dim=1)).double().mean())
    predict_logits(lowered, token_ids, BATCH_SIZE)

    ours, ours_bf16, theirs = [], [], []
    for _ in range(repeats):
        ours.append(rate(count, lambda: predict_logits(model, token_ids, BATCH_SIZE)))
        ours_bf16.append(rate(count, lambda: predict_logits(lowered, token_ids, BATCH_SIZE)))
        theirs.append(rate(count, lambda: plain_logits(plain, token_ids)))
    print(
        f"  {name}: texts/s fourfold fp32 {[round(r) for r in ours]}, bf16 {[round(r) for r in ours_bf16]},"
        f" port {[round(r) for r in theirs]}; top-1 agreement: bf16 with fp32 {agreement_bf16:.2%}"
        f" ({agreement_keras_init:.2%} at Keras's initialisation), fourfold fp32 with the port {agreement_plain:.2%}",
        file=sys.stderr,
    )

    size = (
        f"{name} preset ({config.num_parameters / 1e6:.1f}M parameters), {count} tweet-length texts, batch {BATCH_SIZE}"
    )
    peer = "plain PyTorch port (padded nn.LSTM, fp32)"
    bf16_note = f"top-1 agreement with fp32 {agreement_bf16:.2%}"
    fp32 = f"{size}, fourfold fp32" + ("" if use_bf16 else f" (bf16 not used: {bf16_note})")
    rows = [BenchRow(fp32, statistics.median(ours), peer, statistics.median(theirs), "texts/s", threads)]
    if use_bf16:
        what = f"{size}, fourfold bf16 ({bf16_note})"
        rows.append(BenchRow(what, statistics.median(ours_bf16), peer, statistics.median(theirs), "texts/s", threads))
    else:
        print(f"  {name}: bf16 not used ({bf16_note}, below {BF16_MIN_AGREEMENT:.1%})", file=sys.stderr)
    return rows


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Inference texts/s of the full and small presets, fourfold against the plain port."""
    torch.set_num_threads(threads)
    repeats = 1 if quick else REPEATS
    return [
        *measure("full", 256 if quick else 1024, threads, repeats),
        *measure("small", 512 if quick else 2048, threads, repeats),
    ]


if __name__ == "__main__":
    print_rows(run(threads=2, quick=False))
