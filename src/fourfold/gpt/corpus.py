"""GPT corpora: the documents of text files, folders, JSONL files and the named corpora stdlib and tinyshakespeare.

Sources (see `iter_documents`): text files (one document each), folders (every `*.txt`, `*.md`, `*.py`,
`*.rst` below them, or the suffixes given; one document per file), JSONL files (`{"text": ...}` on each line,
one document per line), and two named corpora: `"stdlib"`, the Python standard library's source that every
machine has, and `"tinyshakespeare"` (Karpathy's char-rnn corpus), found with the data locator
(`$FOURFOLD_DATA`, the cache, a download).

Text is read byte-exact (no newline translation), so shards decode back to the files. Every missing path is
reported before anything is read; `fourfold.gpt.data.write_shards` tokenizes the documents into shards.
"""

from __future__ import annotations

import json
import os
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fourfold.core.data import DataSource, data_file
from fourfold.core.errors import FourfoldError

DEFAULT_SUFFIXES = (".txt", ".md", ".py", ".rst")
"""The files read from a folder unless other suffixes are given."""
STDLIB_SOURCE = "stdlib"
"""The source name of the Python standard library's source (an existing path of that name wins)."""
TINYSHAKESPEARE = DataSource(
    name="tinyshakespeare",
    root="tinyshakespeare",
    files=("input.txt",),
    base_url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",
    description="1.1 MB of Shakespeare, the classic character-level GPT corpus (Karpathy's char-rnn)",
)
# Folders of the standard library that are not its source proper: tests, and installed third-party packages.
_STDLIB_SKIP = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"})


class DataError(FourfoldError):
    """A source is missing, unreadable or malformed, or prepared data is missing or damaged."""


@dataclass(frozen=True)
class Document:
    """One document of a source."""

    name: str
    """Where it comes from: a file path, or `path:line` for a JSONL record."""
    text: str
    source_bytes: int
    """Bytes of the source it was read from (for progress)."""


def iter_documents(
    sources: Sequence[str | Path], *, suffixes: Sequence[str] = DEFAULT_SUFFIXES, max_files: int | None = None
) -> Iterator[Document]:
    """The documents of `sources`, in a fixed order (sources as given, files of a folder sorted by path).

    Args:
        sources: paths of text files, folders and `.jsonl` files, or the names "stdlib" and "tinyshakespeare"
            (a name counts as a path when a file or folder of that name exists).
        suffixes: the file endings read from folders (a `.jsonl` suffix reads those files as JSONL).
        max_files: read at most this many files of each folder (and of "stdlib"), the first in sorted order.

    Raises:
        DataError: a path does not exist, a folder holds no matching file, a file is unreadable or not
            UTF-8, or a JSONL line is not an object with a "text" string (the message names file and line).
    """
    yield from documents_of(source_files(sources, suffixes, max_files))


def source_files(sources: Sequence[str | Path], suffixes: Sequence[str], max_files: int | None) -> list[Path]:
    """The files of all sources, in order; every missing path is reported before anything is read.

    Args:
        sources: as in `iter_documents`.
        suffixes: as in `iter_documents`.
        max_files: as in `iter_documents`.

    Raises:
        DataError: a path does not exist, or a folder holds no matching file.
    """
    wanted = {s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes}
    files: list[Path] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            files += _folder_files(path, wanted, max_files)
        elif path.is_file():
            files.append(path)
        elif str(source) == STDLIB_SOURCE:
            files += _stdlib_files(max_files)
        elif str(source) == TINYSHAKESPEARE.name:
            files.append(data_file(TINYSHAKESPEARE, "input.txt"))
        else:
            raise DataError(
                f"no such file or folder: {source}; give text files, folders, .jsonl files, 'stdlib' or "
                f"'tinyshakespeare'"
            )
    return files


def documents_of(files: Sequence[Path]) -> Iterator[Document]:
    """The documents of already resolved files (from `source_files`), in order.

    Raises:
        DataError: a file is unreadable or not UTF-8, or a JSONL line is malformed.
    """
    for path in files:
        yield from _read_file(path)


def describe_source(source: str | Path) -> str:
    """`source` as recorded in `meta.json`: "stdlib" names the folder it was read from."""
    if str(source) == STDLIB_SOURCE and not Path(source).expanduser().exists():
        return f"stdlib ({sysconfig.get_paths()['stdlib']})"
    return str(source)


def _folder_files(folder: Path, suffixes: set[str], max_files: int | None) -> list[Path]:
    """The files below `folder` with one of `suffixes`, sorted by path, hidden files and folders left out."""
    found: list[Path] = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]  # never walk into .git or .venv
        found += [Path(parent, n) for n in names if not n.startswith(".") and Path(n).suffix.lower() in suffixes]
    found.sort(key=lambda p: p.relative_to(folder).as_posix())
    if not found:
        raise DataError(f"folder {folder} holds no file ending in {', '.join(sorted(suffixes))}")
    return found[:max_files]


def _stdlib_files(max_files: int | None) -> list[Path]:
    """The standard library's own `*.py` files, sorted by path, without tests and installed packages."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        (p for p in root.rglob("*.py") if not _STDLIB_SKIP.intersection(p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not files:
        raise DataError(f"found no Python source in the standard library folder {root}")
    return files[:max_files]


def _read_file(path: Path) -> Iterator[Document]:
    """The documents of one file: its whole text, or one per line of a `.jsonl` file; text is byte-exact."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() != ".jsonl":
                yield Document(str(path), handle.read(), path.stat().st_size)
                return
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    text = _jsonl_text(path, number, line)
                    yield Document(f"{path}:{number}", text, len(line.encode("utf-8")))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it to UTF-8 or leave it out") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error})") from None


def _jsonl_text(path: Path, number: int, line: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{number}: not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise DataError(f'{path}:{number}: expected an object with a "text" string, got {line.strip()[:60]}')
    text: str = record["text"]
    return text
