"""Labelled text data sets for DeepMoji: one typed structure, loaders for the formats DeepMoji is measured on.

Every loader returns a `TextDataset`: texts and labels of a train, a validation and a test split, the label
names, and whether labels are single (int64 (N,)) or multi-label (multi-hot float32 (N, C)). Formats:

- TweetEval task folders (Barbieri et al. 2020): `<split>_text.txt`, `<split>_labels.txt`, `mapping.txt`.
  The emoji task's texts keep stray U+FE0F selectors where the label emoji was cut out; they leak the label and
  are stripped. The official files hold a few empty tweets (hate: 7 train, 1 val); they are kept.
- DeepMoji benchmark pickles (`raw.pickle`, Felbo et al. 2017): Python 2 pickles read as latin1, with
  SCv1's texts repaired to UTF-8 where that decodes; labels are ints or 0/1 vectors (multi-label);
  `train_ind`/`val_ind`/`test_ind` give the splits. Only plain data and NumPy scalars are unpickled.
- GoEmotions TSV folders (Demszky et al. 2020): `train/dev/test.tsv` of text, comma-separated label ids,
  comment id; `labels.txt` names the labels. Multi-label.
- CSV (with a header) or JSONL with `text` and `label` fields: one file (split 80/10/10 by a hash of the
  text), or a folder of `train`, `val` (or `dev`) and `test` files. Labels map through `labels.txt` in the
  folder when there is one, else through their sorted set (numerically when all are integers); a JSONL label
  that is a list makes the set multi-label.

`load_dataset` takes a path or a name found with the data locator: `tweeteval/<task>`, `goemotions`
(`/ekman`, `/group`), `deepmoji/<benchmark>` or `harvest` (the emoji-labelled set of `label.harvest`).

Shapes: N examples, C classes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fourfold.core.data import DataNotFoundError, DataSource, locate
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.emojis import strip_selectors

SPLITS = ("train", "val", "test")
TWEETEVAL_TASKS = ("emoji", "emotion", "hate", "irony", "offensive", "sentiment")
GOEMOTIONS_LABEL_SETS = ("original", "ekman", "group")
DEEPMOJI_LABELS: dict[str, tuple[str, ...]] = {
    "Olympic": (
        "negative & high control",
        "positive & high control",
        "negative & low control",
        "positive & low control",  # the README repeats "positive & high control" here, a typo
    ),
    "PsychExp": ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"),
    "SCv1": ("not sarcastic", "sarcastic"),
    "SCv2-GEN": ("not sarcastic", "sarcastic"),
    "SE0714": ("fear", "joy", "sadness"),
    "SS-Twitter": ("negative", "positive"),
    "SS-Youtube": ("negative", "positive"),
    "kaggle-insults": ("neutral", "insult"),
}
"""DeepMoji's benchmarks and their label names, in label order (bfelbo/DeepMoji `data/README.md`)."""
TABLE_SUFFIXES = (".jsonl", ".csv")
HASH_VAL_FRACTION = 0.1
HASH_TEST_FRACTION = 0.1
# Only these globals may appear in a DeepMoji pickle: NumPy scalars and arrays (its labels are np.int64), and
# the bytes constructor Python 3 writes into protocol-2 pickles of them.
_PICKLE_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class DatasetError(FourfoldError):
    """A data set file is missing, unreadable or malformed, or a label lies outside its mapping."""


@dataclass(frozen=True)
class Split:
    """The texts of one split and their labels: int64 (N,) class ids, or float32 (N, C) multi-hot rows."""

    texts: list[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.texts):
            raise DatasetError(f"a split has {len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class TextDataset:
    """A labelled text data set with its three splits."""

    name: str
    train: Split
    val: Split
    test: Split
    label_names: list[str]
    """Class names in id order (for emoji sets, the emoji)."""
    multilabel: bool
    """True when labels are multi-hot rows (N, C) and an example can have none or several classes."""

    def __post_init__(self) -> None:
        for split_name, split in zip(SPLITS, (self.train, self.val, self.test), strict=True):
            labels = split.labels
            if self.multilabel:
                ok = labels.ndim == 2 and labels.shape[1] == self.num_classes and labels.dtype == np.float32
            else:
                ok = labels.ndim == 1 and labels.dtype == np.int64
                ok = ok and (len(labels) == 0 or (int(labels.min()) >= 0 and int(labels.max()) < self.num_classes))
            if not ok:
                kind = f"float32 (N, {self.num_classes})" if self.multilabel else f"int64 ids below {self.num_classes}"
                raise DatasetError(f"{self.name}: the {split_name} labels are not {kind}")

    @classmethod
    def from_splits(
        cls, name: str, splits: Sequence[Split], label_names: list[str], *, multilabel: bool
    ) -> TextDataset:
        """A data set of the train, val and test splits in that order."""
        train, val, test = splits
        return cls(name, train, val, test, label_names=label_names, multilabel=multilabel)

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return len(self.label_names)

    def split(self, name: str) -> Split:
        """The split called `name` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise DatasetError(f"no split {name!r} in {self.name}: use one of {', '.join(SPLITS)}")
        split: Split = getattr(self, name)
        return split


def tweeteval_source(task: str) -> DataSource:
    """The public home of a TweetEval task's files (cardiffnlp/tweeteval)."""
    files = ["mapping.txt"] + [f"{split}_{kind}.txt" for split in SPLITS for kind in ("text", "labels")]
    return DataSource(
        name=f"tweeteval/{task}",
        root=f"tweeteval/{task}",
        files=tuple(files),
        base_url=f"https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/{task}/",
        description=f"TweetEval's {task} task (Barbieri et al. 2020)",
    )


def goemotions_source(label_set: str = "original") -> DataSource:
    """The public home of GoEmotions' TSV files for one label set (monologg/GoEmotions-pytorch)."""
    return DataSource(
        name=f"goemotions/{label_set}",
        root=f"goemotions/{label_set}",
        files=("train.tsv", "dev.tsv", "test.tsv", "labels.txt"),
        base_url=f"https://raw.githubusercontent.com/monologg/GoEmotions-pytorch/master/data/{label_set}/",
        description=f"GoEmotions (Demszky et al. 2020), {label_set} labels",
    )


def deepmoji_source(benchmark: str) -> DataSource:
    """The public home of one of DeepMoji's benchmark pickles (bfelbo/DeepMoji)."""
    return DataSource(
        name=f"deepmoji/{benchmark}",
        root=f"deepmoji/{benchmark}",
        files=("raw.pickle",),
        base_url=f"https://raw.githubusercontent.com/bfelbo/DeepMoji/master/data/{benchmark}/",
        description=f"DeepMoji's {benchmark} benchmark",
    )


def load_dataset(name_or_path: str | Path, *, download: bool | None = None) -> TextDataset:
    """Load a data set by path, or by name through the data locator ($FOURFOLD_DATA, the cache, a download).

    Args:
        name_or_path: an existing file or folder (a `raw.pickle`, a TweetEval task folder, a GoEmotions folder,
            a CSV/JSONL file or folder), or a name: `tweeteval/<task>`, `goemotions`, `goemotions/ekman`,
            `goemotions/group`, `deepmoji/<benchmark>` (e.g. `deepmoji/SS-Twitter`), `harvest`.
        download: as in `fourfold.core.data.locate`.

    Raises:
        DatasetError: the name is unknown, or the files are malformed.
        DataNotFoundError: the named data set is not on this machine and could not be downloaded.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _load_path(path)
    name = str(name_or_path).strip().strip("/")
    head, _, rest = name.partition("/")
    head = head.lower()
    if head == "tweeteval" and rest in TWEETEVAL_TASKS:
        return load_tweeteval(locate(tweeteval_source(rest), download=download), name)
    if head == "goemotions" and (rest or "original") in GOEMOTIONS_LABEL_SETS:
        label_set = rest or "original"
        return load_goemotions(locate(goemotions_source(label_set), download=download), f"goemotions/{label_set}")
    if head == "deepmoji" and rest.lower() in {benchmark.lower() for benchmark in DEEPMOJI_LABELS}:
        benchmark = next(known for known in DEEPMOJI_LABELS if known.lower() == rest.lower())
        folder = locate(deepmoji_source(benchmark), download=download)
        return load_deepmoji_pickle(folder / "raw.pickle", f"deepmoji/{benchmark}")
    if name.lower() in ("harvest", "deepmoji/harvest"):
        from fourfold.deepmoji.label import harvest  # label builds on this module

        return harvest()
    raise DatasetError(
        f"unknown data set {name!r}: give an existing path or one of tweeteval/<{'|'.join(TWEETEVAL_TASKS)}>, "
        f"goemotions[/ekman|/group], deepmoji/<{'|'.join(DEEPMOJI_LABELS)}>, harvest"
    )


def load_tweeteval(folder: str | Path, name: str | None = None) -> TextDataset:
    """A TweetEval task folder; the emoji task's stray variation selectors are stripped (they leak the label)."""
    folder = _folder_with(tweeteval_source(Path(folder).name), folder)
    mapping = [line.split("\t") for line in read_lines(folder / "mapping.txt") if line.strip()]
    if any(len(row) < 2 or row[0].strip() != str(i) for i, row in enumerate(mapping)):
        raise DatasetError(f"{folder / 'mapping.txt'} is not 'id<TAB>name' lines numbered from 0")
    label_names = [row[1].strip() for row in mapping]
    emoji_task = any(not label_name.isascii() for label_name in label_names)
    splits = []
    for split in SPLITS:
        texts = read_lines(folder / f"{split}_text.txt")
        if emoji_task:
            texts = [strip_selectors(text) for text in texts]
        labels_path = folder / f"{split}_labels.txt"
        raw = read_lines(labels_path)
        if len(raw) != len(texts):
            raise DatasetError(f"{labels_path} has {len(raw)} labels for {len(texts)} texts; the files do not match")
        labels = np.array([_class_id(value, label_names, labels_path, i + 1) for i, value in enumerate(raw)])
        splits.append(Split(texts, labels.astype(np.int64)))
    return TextDataset.from_splits(name or f"tweeteval/{folder.name}", splits, label_names, multilabel=False)


def load_goemotions(folder: str | Path, name: str | None = None) -> TextDataset:
    """A GoEmotions folder of `train/dev/test.tsv` and `labels.txt` (multi-label)."""
    folder = _folder_with(goemotions_source(Path(folder).name), folder)
    label_names = [line.strip() for line in read_lines(folder / "labels.txt") if line.strip()]
    splits = []
    for file_name in ("train.tsv", "dev.tsv", "test.tsv"):
        path = folder / file_name
        texts: list[str] = []
        rows: list[list[int]] = []
        for number, line in enumerate(read_lines(path), start=1):
            fields = line.split("\t")
            if len(fields) != 3:
                raise DatasetError(f"{path}, line {number}: expected text, label ids and id separated by tabs")
            texts.append(_nonempty(fields[0], path, number))
            rows.append([_class_id(value, label_names, path, number) for value in fields[1].split(",")])
        splits.append(Split(texts, _multi_hot(rows, len(label_names))))
    return TextDataset.from_splits(name or f"goemotions/{folder.name}", splits, label_names, multilabel=True)


def load_deepmoji_pickle(path: str | Path, name: str | None = None) -> TextDataset:
    """One of DeepMoji's `raw.pickle` benchmark files (or any pickle of that shape).

    Label names come from `DEEPMOJI_LABELS` when the folder is named after a benchmark, else "0", "1", ….
    """
    path = Path(path)
    benchmark = path.parent.name
    data = _unpickle(path)
    texts, labels, indices = _deepmoji_fields(data, path)
    texts = [_repair_utf8(text) for text in texts]
    known = DEEPMOJI_LABELS.get(benchmark)
    if isinstance(labels, list):
        # (N, C) 0/1 vectors: multi-label
        matrix = np.asarray(labels, dtype=np.float32)  # (N, C)
        label_names = list(known) if known else [str(i) for i in range(matrix.shape[1])]
        if matrix.shape[1] != len(label_names):
            raise DatasetError(
                f"{path}: label vectors have {matrix.shape[1]} entries but {benchmark} has "
                f"{len(label_names)} labels; check the file"
            )
        splits = [Split([texts[i] for i in index], matrix[index]) for index in indices]
        return TextDataset.from_splits(name or f"deepmoji/{benchmark}", splits, label_names, multilabel=True)
    label_names = list(known) if known else [str(i) for i in range(int(labels.max(initial=0)) + 1)]
    if len(labels) and int(labels.max()) >= len(label_names):
        raise DatasetError(f"{path}: label {int(labels.max())} is outside {benchmark}'s {len(label_names)} labels")
    splits = [Split([texts[i] for i in index], labels[index]) for index in indices]
    return TextDataset.from_splits(name or f"deepmoji/{benchmark}", splits, label_names, multilabel=False)


def load_table(
    path: str | Path,
    *,
    label_names: Sequence[str] | None = None,
    text_field: str = "text",
    label_field: str = "label",
    name: str | None = None,
) -> TextDataset:
    """CSV or JSONL with a text and a label field: one file split by hash, or a folder of train/val/test files.

    Args:
        path: a `.csv`/`.jsonl` file, or a folder with `train`, `val` (or `dev`) and `test` files of one kind.
        label_names: the label mapping; default `labels.txt` in the folder, else the sorted set of labels.
        text_field: the field holding the text.
        label_field: the field holding the label (in JSONL, a list of labels for multi-label data).
        name: the data set's name (default the file or folder name).

    Raises:
        DatasetError: a file is missing, not UTF-8 or malformed; a text is empty; a label is not in `label_names`.
    """
    path = Path(path)
    records = _table_records(path, text_field)
    if label_names is None and path.is_dir() and (path / "labels.txt").is_file():
        label_names = [line.strip() for line in read_lines(path / "labels.txt") if line.strip()]
    parsed: dict[str, list[tuple[str, Any, str]]] = {split: [] for split in SPLITS}
    for split, file, number, record in records:
        where = f"{file}, line {number}"
        text, label = record.get(text_field), record.get(label_field)
        if not isinstance(text, str):
            raise DatasetError(f"{where}: no text in field {text_field!r}; name the text field or fix the line")
        if label is None or label == "":
            raise DatasetError(f"{where}: no label in field {label_field!r}; name the label field or fix the line")
        parsed[split].append((_nonempty(text, file, number), label, where))
    values = [label for rows in parsed.values() for _, label, _ in rows]
    multilabel = any(isinstance(label, list) for label in values)
    names = list(label_names) if label_names is not None else _sorted_labels(values)
    splits = []
    for split in SPLITS:
        rows = parsed[split]
        texts = [text for text, _, _ in rows]
        if multilabel:
            ids = [[_class_id(v, names, where) for v in _as_list(label)] for _, label, where in rows]
            splits.append(Split(texts, _multi_hot(ids, len(names))))
        else:
            labels = np.array([_class_id(label, names, where) for _, label, where in rows], dtype=np.int64)
            splits.append(Split(texts, labels))
    return TextDataset.from_splits(name or path.stem, splits, names, multilabel=multilabel)


def hash_split(text: str, val_fraction: float = HASH_VAL_FRACTION, test_fraction: float = HASH_TEST_FRACTION) -> str:
    """ "train", "val" or "test" for `text`, fixed by a hash of it (equal texts always share a split)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < test_fraction:
        return "test"
    return "val" if position < test_fraction + val_fraction else "train"


def read_text(path: str | Path) -> str:
    """The contents of a UTF-8 text file, or a `DatasetError` saying why not."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DatasetError(f"no such file: {path}") from None
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{path} is not UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start}); convert it to UTF-8"
        ) from None
    except OSError as error:
        raise DatasetError(f"cannot read {path} ({error.strerror or error})") from None


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, without line ends (a last empty line is not a line)."""
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_records(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of a CSV file with a header or a JSONL file of objects; blank lines skipped."""
    path = Path(path)
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = []
        for row in reader:
            if any(value for value in row.values() if isinstance(value, str)):
                rows.append((reader.line_num, dict(row)))
        return rows
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise DatasetError(f"{path}, line {number}: not valid JSON; write one JSON object a line") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{path}, line {number}: not a JSON object; write one object a line")
        records.append((number, record))
    return records


def _load_path(path: Path) -> TextDataset:
    """Load a data set from an existing file or folder, recognised by its files."""
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".pickle", ".pkl"):
            return load_deepmoji_pickle(path)
        if suffix in TABLE_SUFFIXES:
            return load_table(path)
        raise DatasetError(f"{path}: cannot tell the format; use a raw.pickle, a .csv or .jsonl file, or a folder")
    if (path / "raw.pickle").is_file():
        return load_deepmoji_pickle(path / "raw.pickle")
    if (path / "mapping.txt").is_file():
        return load_tweeteval(path)
    if (path / "labels.txt").is_file() and (path / "train.tsv").is_file():
        return load_goemotions(path)
    if any((path / f"train{suffix}").is_file() for suffix in TABLE_SUFFIXES):
        return load_table(path)
    raise DatasetError(
        f"{path} holds no data set this loader knows: expected raw.pickle, a TweetEval task (mapping.txt), "
        f"GoEmotions (train.tsv and labels.txt) or train/val/test .csv or .jsonl files"
    )


def _folder_with(source: DataSource, folder: str | Path) -> Path:
    """`folder` checked to hold all files of `source` (the locator's one-sentence message when it does not)."""
    try:
        return locate(source, folder)
    except DataNotFoundError as error:
        raise DatasetError(str(error)) from None


def _nonempty(text: str, path: Path | str, number: int) -> str:
    if not text.strip():
        raise DatasetError(f"{path}, line {number}: the text is empty; remove the line or fill in the text")
    return text


def _class_id(value: Any, names: Sequence[str], path: Path | str, number: int | None = None) -> int:
    """The id of a label: its position in `names`, or an integer id below `len(names)`."""
    where = f"{path}, line {number}" if number is not None else str(path)
    text = str(value).strip()
    if text in names:
        return names.index(text)
    if (isinstance(value, int) or text.isdigit()) and 0 <= int(text) < len(names):
        return int(text)
    raise DatasetError(
        f"{where}: label {text!r} is outside the mapping of {len(names)} labels ({_preview(names)}); fix the label "
        f"or the mapping"
    )


def _preview(names: Sequence[str]) -> str:
    shown = ", ".join(names[:6])
    return shown + (", …" if len(names) > 6 else "")


def _multi_hot(rows: list[list[int]], num_classes: int) -> np.ndarray:
    """Class-id lists as multi-hot rows, float32 (N, C)."""
    out = np.zeros((len(rows), num_classes), dtype=np.float32)  # (N, C)
    for i, ids in enumerate(rows):
        out[i, ids] = 1.0
    return out


def _as_list(label: Any) -> list[Any]:
    return label if isinstance(label, list) else [label]


def _sorted_labels(values: list[Any]) -> list[str]:
    """The distinct labels as strings, sorted numerically when all are integers, else as text."""
    distinct = {str(item).strip() for value in values for item in _as_list(value)}
    if all(item.lstrip("-").isdigit() for item in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def _table_records(path: Path, text_field: str) -> list[tuple[str, Path, int, dict[str, Any]]]:
    """(split, file, line, record) of a table file (split by hash) or folder (split by file name)."""
    if path.is_file():
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise DatasetError(f"{path}: expected a .csv or .jsonl file")
        records = read_records(path)
        if not records:
            raise DatasetError(f"{path} holds no records; it must not be empty")
        return [(hash_split(str(record.get(text_field, ""))), path, number, record) for number, record in records]
    if not path.is_dir():
        raise DatasetError(f"no such file or folder: {path}")
    out: list[tuple[str, Path, int, dict[str, Any]]] = []
    for split, stems in (("train", ("train",)), ("val", ("val", "dev")), ("test", ("test",))):
        files = [path / f"{stem}{suffix}" for stem in stems for suffix in TABLE_SUFFIXES]
        found = [file for file in files if file.is_file()]
        if not found:
            raise DatasetError(f"{path} lacks a {split} file ({' or '.join(file.name for file in files)})")
        out += [(split, found[0], number, record) for number, record in read_records(found[0])]
    return out


def _unpickle(path: Path) -> Any:
    """Read a Python 2 pickle as latin1, allowing only plain data and NumPy scalars and arrays."""

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _PICKLE_GLOBALS:
                raise DatasetError(
                    f"{path} asks to load {module}.{name}; only DeepMoji-format pickles (plain data) are read"
                )
            if module.startswith("numpy.core"):
                module = "numpy._core" + module.removeprefix("numpy.core") if hasattr(np, "_core") else module
            return super().find_class(module, name)

    try:
        with path.open("rb") as handle:
            return _Restricted(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise DatasetError(f"no such file: {path}") from None
    except DatasetError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise DatasetError(f"{path} is not a readable pickle ({error}); fetch the file again") from None


def _deepmoji_fields(data: Any, path: Path) -> tuple[list[str], np.ndarray | list[list[float]], list[np.ndarray]]:
    """Texts, labels (int64 (N,) or a list of 0/1 vectors) and the three index arrays of a DeepMoji pickle."""
    shape = "a dict with texts, info (dicts with a label) and train_ind, val_ind, test_ind"
    keys = ("texts", "info", "train_ind", "val_ind", "test_ind")
    if not isinstance(data, dict) or any(key not in data for key in keys):
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise DatasetError(f"{path} is not a DeepMoji data set: expected {shape}, found {found}")
    texts, info = data["texts"], data["info"]
    if not isinstance(texts, list) or not all(isinstance(text, str | bytes) for text in texts):
        raise DatasetError(f"{path} is not a DeepMoji data set: 'texts' is not a list of strings")
    texts = [text.decode("latin1") if isinstance(text, bytes) else text for text in texts]
    if (
        not isinstance(info, list)
        or len(info) != len(texts)
        or not all(isinstance(item, dict) and "label" in item for item in info)
    ):
        raise DatasetError(f"{path} is not a DeepMoji data set: 'info' is not one dict with a label per text")
    raw = [item["label"] for item in info]
    labels: np.ndarray | list[list[float]]
    if all(isinstance(label, int | np.integer) and not isinstance(label, bool) for label in raw):
        labels = np.array([int(label) for label in raw], dtype=np.int64)
        if len(labels) and int(labels.min()) < 0:
            raise DatasetError(f"{path}: label {int(labels.min())} is negative; labels must be class ids from 0")
    else:
        vectors = [_label_vector(label) for label in raw]
        if any(vector is None for vector in vectors) or len({len(v) for v in vectors if v is not None}) > 1:
            raise DatasetError(
                f"{path} is not a DeepMoji data set: labels must be all ints or all 0/1 vectors of one length"
            )
        labels = [vector for vector in vectors if vector is not None]
    indices = []
    for key in keys[2:]:
        try:
            index = np.asarray(data[key], dtype=np.int64).reshape(-1)  # (N_split,)
        except (TypeError, ValueError):
            raise DatasetError(f"{path} is not a DeepMoji data set: {key} is not a list of indices") from None
        if len(index) and (index.min() < 0 or index.max() >= len(texts)):
            raise DatasetError(f"{path}: {key} points outside the {len(texts)} texts")
        indices.append(index)
    return texts, labels, indices


def _label_vector(label: Any) -> list[float] | None:
    """A 0/1 label vector as floats, or None when `label` is not one."""
    values = label.tolist() if isinstance(label, np.ndarray) else label
    if not isinstance(values, list | tuple) or not values:
        return None
    if not all(isinstance(v, bool | int | float | np.bool_ | np.integer | np.floating) and v in (0, 1) for v in values):
        return None
    return [float(v) for v in values]


def _repair_utf8(text: str) -> str:
    """Undo UTF-8 read as latin1 (SCv1's `’` stored as `â\\x80\\x99`) where the bytes are valid UTF-8."""
    if text.isascii():
        return text
    try:
        return text.encode("latin1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
