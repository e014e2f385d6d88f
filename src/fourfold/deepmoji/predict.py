"""The analyser (`fourfold deepmoji predict`): top emoji, emotion labels, and the words that drove them.

For each text it reports, from the emoji model made by `fourfold deepmoji pretrain` (DeepMoji, Felbo et al. 2017),
the `top_k` emoji with their probabilities; from a transferred model made by `fourfold deepmoji transfer`, if one
is given with `--classifier`, its labels with probabilities; and for each model, which words drove its top class:

- leave-one-word-out: the text is run again without each word in turn, and the drop of the top class's probability
  is that word's influence (a negative drop: the word held the class back);
- attention: the weight DeepMoji's attention layer gives each word when pooling the text (section 3.1; the
  paper's Figure 4 reads the model this way). Attention says where the model looked, not what changed its mind;
  the two often agree on the strongest word.

Texts come as arguments or from `--file` (a `.txt` file of one text a line, or `.csv`/`.jsonl` with a text field);
`--out` writes the predictions as `.jsonl` (everything) or `.csv` (one row a text: top emoji, labels, top words).
Words are DeepMoji's tokens (`fourfold.deepmoji.tokenizer.words`): lower case, repeats cut, mentions and numbers
merged into special tokens; only the first `context_length` of them reach the model.

Shapes: N texts, W words of one text, C classes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tyro

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.classifier import (
    DEFAULT_PRETRAINED,
    Classifier,
    ClassifierError,
    is_model_folder,
    load_classifier,
    missing_model_message,
)
from fourfold.deepmoji.emojis import EMOJI_NAMES, emoji_index
from fourfold.deepmoji.tokenizer import UNKNOWN_ID, words

OUTPUT_SUFFIXES = (".jsonl", ".csv")
CSV_TOP_WORDS = 3
"""Words listed in a CSV row's `words` column (by leave-one-word-out influence)."""


class PredictError(FourfoldError):
    """Bad input to the analyser: no text, an empty text, or an output file of an unknown kind."""


@dataclass
class PredictConfig:
    """Emoji, emotion labels and the words behind them, for texts or a file of texts."""

    texts: tyro.conf.Positional[tuple[str, ...]] = ()
    """Texts to analyse (quote each one)."""
    file: Path | None = None
    """A file of texts: .txt (one a line), .csv or .jsonl (the text in --text-field)."""
    text_field: str = "text"
    """The field holding the text in .csv and .jsonl files."""
    model: Path | None = None
    """The emoji model (a run folder of `fourfold deepmoji pretrain`); default runs/deepmoji/pretrained."""
    classifier: Path | None = None
    """A transferred model (a run folder of `fourfold deepmoji transfer`) whose labels to report too."""
    top_k: int = 5
    """Emoji (and labels) listed per text."""
    explain: bool = True
    """Find the words that drove each prediction (leave-one-word-out and attention; one extra batch per text)."""
    out: Path | None = None
    """Write the predictions to this .jsonl or .csv file."""
    batch_size: int = 64
    """Texts per batch."""

    def __post_init__(self) -> None:
        require(self.top_k >= 1, "top_k", f"must be at least 1 (got {self.top_k})")
        require(self.batch_size >= 1, "batch_size", f"must be at least 1 (got {self.batch_size})")


@dataclass
class LabelScore:
    """One class and its probability."""

    label: str
    """The class as the model names it (for emoji models, the emoji)."""
    name: str
    """A readable name (an emoji's short name; the label itself otherwise)."""
    probability: float


@dataclass
class WordInfluence:
    """How much one word drove the top class."""

    word: str
    """The word as the model sees it (DeepMoji's tokenizer)."""
    attention: float
    """Its attention weight (the weights of a text sum to 1)."""
    drop: float
    """Top-class probability with the word minus without it: positive where the word pushed towards the class."""


@dataclass
class TextPrediction:
    """What the analyser found in one text."""

    text: str
    emoji: list[LabelScore] = field(default_factory=list)
    """The emoji model's `top_k` emoji, most probable first (empty without an emoji model)."""
    emoji_words: list[WordInfluence] = field(default_factory=list)
    """The words behind the top emoji, in text order."""
    labels: list[LabelScore] = field(default_factory=list)
    """The transferred model's `top_k` labels, most probable first (empty without --classifier)."""
    predicted: list[str] = field(default_factory=list)
    """The transferred model's decision: its top label, or every label at 0.5 or more for a multi-label model."""
    label_words: list[WordInfluence] = field(default_factory=list)
    """The words behind the transferred model's top label, in text order."""


@dataclass
class PredictSummary:
    """The predictions, and the models that made them."""

    model: str | None
    """The emoji model's checkpoint folder, or None when only a classifier was used."""
    classifier: str | None
    """The transferred model's checkpoint folder, or None."""
    predictions: list[TextPrediction]
    out: str | None = None
    """The file written, if any."""

    def __str__(self) -> str:
        lines: list[str] = []
        for prediction in self.predictions:
            lines.append(repr(prediction.text))
            if prediction.emoji:
                shown = "  ".join(f"{s.label} {s.probability:.3f}" for s in prediction.emoji)
                lines.append(f"  emoji:  {shown}   ({prediction.emoji[0].name})")
            if prediction.labels:
                shown = "  ".join(f"{s.label} {s.probability:.3f}" for s in prediction.labels)
                lines.append(f"  labels: {shown}   -> {', '.join(prediction.predicted) or 'none'}")
            for title, influences in (("emoji", prediction.emoji_words), ("labels", prediction.label_words)):
                if influences:
                    shown = "  ".join(f"{w.word} ({w.drop:+.3f}, att {w.attention:.2f})" for w in influences)
                    lines.append(f"  words behind the {title}: {shown}")
        if self.out:
            lines.append(f"written to {self.out}")
        return "\n".join(lines)


def predict(config: PredictConfig) -> PredictSummary:
    """Analyse the texts of `config` with the emoji model and, if given, a transferred model.

    Raises:
        PredictError: no texts, an empty text, or an output file that is not .jsonl or .csv.
        ClassifierError: there is no model where one was asked for (the message names the command that makes one).
    """
    # 1. The texts, and the output's kind, checked before any model is loaded.
    texts = list(config.texts)
    if config.file is not None:
        texts += read_input(config.file, config.text_field)
    if not texts:
        raise PredictError('no text to analyse; give one in quotes (fourfold deepmoji predict "text") or --file')
    check_texts(texts)
    if config.out is not None and config.out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise PredictError(f"--out {config.out} must end in .jsonl or .csv")

    # 2. The models: the emoji model (default place unless only a classifier is asked for) and the classifier.
    emoji_model = _emoji_model(config)
    classifier = load_classifier(config.classifier, what="emotion") if config.classifier is not None else None

    # 3. Predictions, then explanations.
    predictions = [TextPrediction(text) for text in texts]
    if emoji_model is not None:
        probabilities = emoji_model.probabilities(texts, config.batch_size)  # (N, C)
        for prediction, row in zip(predictions, probabilities, strict=True):
            prediction.emoji = top_scores(emoji_model, row, config.top_k)
            if config.explain:
                prediction.emoji_words = explain(emoji_model, prediction.text)
    if classifier is not None:
        probabilities = classifier.probabilities(texts, config.batch_size)  # (N, C)
        for prediction, row in zip(predictions, probabilities, strict=True):
            prediction.labels = top_scores(classifier, row, config.top_k)
            prediction.predicted = decide(classifier, row)
            if config.explain:
                prediction.label_words = explain(classifier, prediction.text)

    summary = PredictSummary(
        model=str(emoji_model.checkpoint) if emoji_model is not None else None,
        classifier=str(classifier.checkpoint) if classifier is not None else None,
        predictions=predictions,
    )
    if config.out is not None:
        summary.out = str(write_predictions(predictions, config.out))
    return summary


def top_scores(classifier: Classifier, probabilities: np.ndarray, k: int) -> list[LabelScore]:
    """The `k` most probable classes of one text's probabilities (C,), most probable first."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [
        LabelScore(classifier.label_names[i], readable_name(classifier.label_names[i]), float(probabilities[i]))
        for i in order
    ]


def decide(classifier: Classifier, probabilities: np.ndarray, threshold: float = 0.5) -> list[str]:
    """The predicted labels of one text: the top one, or all at `threshold` or more for a multi-label model."""
    if classifier.multilabel:
        return [name for name, p in zip(classifier.label_names, probabilities, strict=True) if p >= threshold]
    return [classifier.label_names[int(np.argmax(probabilities))]]


def explain(classifier: Classifier, text: str, target: int | None = None) -> list[WordInfluence]:
    """Leave-one-word-out influence and attention weight of each word the model sees of `text`.

    Args:
        classifier: the model.
        text: one text.
        target: the class to explain; default the model's most probable class for the text.

    Returns:
        One entry per word in text order (the first `context_length` words of DeepMoji's tokenizer).
    """
    import torch

    tokens = words(text)[: classifier.max_length]
    ids = [classifier.vocabulary.index.get(token, UNKNOWN_ID) for token in tokens]
    count = len(ids)
    if count == 0:
        return []
    # Row 0 is the text; row i + 1 leaves word i out.
    rows = np.zeros((count + 1, count), dtype=np.int64)  # (W + 1, W)
    rows[0] = ids
    for i in range(count):
        rows[i + 1, : count - 1] = ids[:i] + ids[i + 1 :]
    lengths = torch.tensor([count] + [count - 1] * count, dtype=torch.int64)  # (W + 1,)
    model = classifier.model.eval()
    device = model.head.weight.device
    with torch.inference_mode():
        encoding = model.encode(torch.from_numpy(rows).to(device), lengths)
        logits = model.classify(encoding.pooled).float()  # (W + 1, C)
        probabilities = torch.sigmoid(logits) if classifier.multilabel else torch.softmax(logits, dim=1)
    probabilities_np = probabilities.cpu().numpy()  # (W + 1, C)
    chosen = int(np.argmax(probabilities_np[0])) if target is None else target
    drops = probabilities_np[0, chosen] - probabilities_np[1:, chosen]  # (W,)
    attention = encoding.attention[0, :count].float().cpu().numpy()  # (W,)
    return [
        WordInfluence(token, float(weight), float(drop))
        for token, weight, drop in zip(tokens, attention, drops, strict=True)
    ]


def readable_name(label: str) -> str:
    """An emoji's short name (one of DeepMoji's 64, or any emoji the `emoji` package knows); else the label."""
    index = emoji_index(label)
    if index is not None:
        return EMOJI_NAMES[index]
    import emoji as emoji_package

    if emoji_package.is_emoji(label):
        return emoji_package.demojize(label).strip(":")
    return label


def read_input(path: Path, text_field: str = "text") -> list[str]:
    """The texts of an input file: non-blank lines of a text file, or a .csv/.jsonl file's `text_field`."""
    from fourfold.deepmoji.label import read_texts

    texts = read_texts(path, text_field)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        texts = [text for text in texts if text.strip()]
    if not texts:
        raise PredictError(f"{path} holds no texts; write one text a line (or one record a line in .csv/.jsonl)")
    return texts


def check_texts(texts: Sequence[str]) -> None:
    """Raise a `PredictError` naming the first text that has no words for the model."""
    for number, text in enumerate(texts, start=1):
        if not words(text):
            raise PredictError(f"text {number} ({text!r}) is empty: it has no words to analyse; give it some text")


def write_predictions(predictions: Sequence[TextPrediction], path: Path) -> Path:
    """Write predictions as JSONL (every field) or CSV (one row a text); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for prediction in predictions:
                handle.write(json.dumps(asdict(prediction), ensure_ascii=False) + "\n")
        return path
    top_k = max((len(p.emoji) for p in predictions), default=0)
    label_k = max((len(p.labels) for p in predictions), default=0)
    header = ["text"]
    header += [f"emoji_{i}{suffix}" for i in range(1, top_k + 1) for suffix in ("", "_p")]
    header += [f"label_{i}{suffix}" for i in range(1, label_k + 1) for suffix in ("", "_p")]
    header += ["predicted", "emoji_words", "label_words"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for prediction in predictions:
            row: list[object] = [prediction.text]
            for score in _padded(prediction.emoji, top_k):
                row += ["", ""] if score is None else [score.label, f"{score.probability:.4f}"]
            for score in _padded(prediction.labels, label_k):
                row += ["", ""] if score is None else [score.label, f"{score.probability:.4f}"]
            row.append(";".join(prediction.predicted))
            row.append(_top_words(prediction.emoji_words))
            row.append(_top_words(prediction.label_words))
            writer.writerow(row)
    return path


def _emoji_model(config: PredictConfig) -> Classifier | None:
    """The emoji model asked for, or at the default place; None when absent there and a classifier is given."""
    if config.model is not None:
        return load_classifier(config.model, what="emoji")
    if is_model_folder(DEFAULT_PRETRAINED):
        return load_classifier(DEFAULT_PRETRAINED, what="emoji")
    if config.classifier is not None:
        return None
    raise ClassifierError(missing_model_message(DEFAULT_PRETRAINED) + " (or name a model with --model DIR)")


def _padded(scores: list[LabelScore], length: int) -> list[LabelScore | None]:
    return [*scores, *([None] * (length - len(scores)))]


def _top_words(influences: list[WordInfluence]) -> str:
    """The `CSV_TOP_WORDS` most influential words as `word:+0.123` pairs, strongest first."""
    ranked = sorted(influences, key=lambda w: -w.drop)[:CSV_TOP_WORDS]
    return " ".join(f"{w.word}:{w.drop:+.3f}" for w in ranked)
