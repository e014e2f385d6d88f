"""The data locator: find a data set's files on this machine, or download them once, or say exactly what to fetch.

A data set is described by a `DataSource` (each system defines its own, e.g. GPT's tinyshakespeare); `locate`
looks for its files in the order DESIGN.md fixes ("Runs, checkpoints, data"):

1. an explicit path the user gave (a folder holding the files, or for a one-file data set the file itself);
2. `$FOURFOLD_DATA/<root>` (CI and developers point FOURFOLD_DATA at a shared folder of data sets);
3. the cache, `$FOURFOLD_CACHE/<root>` or `~/.cache/fourfold/<root>`;
4. a download of each file from the data set's public home into the cache, unless downloading is off
   (`download=False`, or the environment variable `FOURFOLD_OFFLINE=1`);
5. otherwise a `DataNotFoundError` whose one message names the data set, the places looked at, the URL to fetch,
   the exact folder to put it in and, if a download was tried, why it failed.

A folder counts as found only when it holds every file of the source, so a half-copied folder or an interrupted
download is never mistaken for the data (downloads go to a temporary name and are renamed when complete).
"""

from __future__ import annotations

import http.client
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fourfold.core.errors import FourfoldError

DATA_ENV = "FOURFOLD_DATA"
CACHE_ENV = "FOURFOLD_CACHE"
OFFLINE_ENV = "FOURFOLD_OFFLINE"
DEFAULT_CACHE = Path("~/.cache/fourfold")

# Seconds to wait for a connection (and for each read); a dead mirror fails fast instead of hanging a command.
CONNECT_TIMEOUT = 10.0
CHUNK_BYTES = 1 << 20


class DataNotFoundError(FourfoldError):
    """A data set's files are not on this machine and could not be downloaded."""


@dataclass(frozen=True)
class DataSource:
    """A public data set: the files it consists of and where they can be downloaded from."""

    name: str
    """Short name used in messages, e.g. "tinyshakespeare"."""
    root: str
    """Folder of the files, relative to the data folder or the cache, e.g. "tweeteval/emoji"."""
    files: tuple[str, ...]
    """File names relative to `root` (may contain "/"); all must exist for the data set to count as found."""
    base_url: str
    """The public home: `base_url + file` downloads each file."""
    description: str = ""
    """One line on what the data set is, for listings and docs."""

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError(f"DataSource {self.name!r} must list at least one file")
        for relative in (self.root, *self.files):
            path = PurePosixPath(relative)
            if not relative or path.is_absolute() or ".." in path.parts:
                raise ValueError(f"DataSource {self.name!r}: {relative!r} must be a relative path without '..'")


def locate(source: DataSource, explicit: str | Path | None = None, *, download: bool | None = None) -> Path:
    """Return the folder holding all of `source`'s files, downloading them into the cache if needed.

    Args:
        source: the data set to find.
        explicit: a path the user gave: a folder holding the files or, for a one-file source, a file with that
            file's name. When given it is the only place looked at.
        download: True to allow a download, False to forbid it; None (default) allows it unless the environment
            variable FOURFOLD_OFFLINE is set to 1 (or true/yes).

    Returns:
        The folder that holds every file of `source`.

    Raises:
        DataNotFoundError: the files are nowhere to be found and could not be downloaded; the message names the
            places looked at, the URL to fetch and the folder to put it in.
    """
    if explicit is not None:
        return _explicit_folder(source, Path(explicit).expanduser())

    looked: list[str] = []
    data_dir = os.environ.get(DATA_ENV)
    if data_dir:
        candidate = Path(data_dir).expanduser() / source.root
        if not _missing(source, candidate):
            return candidate
        looked.append(_describe(source, candidate, f"${DATA_ENV}"))
    else:
        looked.append(f"${DATA_ENV} (not set)")
    cache = cache_folder(source)
    if not _missing(source, cache):
        return cache
    looked.append(_describe(source, cache, "the cache"))

    failure = ""
    if _download_allowed(download):
        relative = source.files[0]
        try:
            for relative in _missing(source, cache):
                _download(source.base_url + relative, cache / relative)
            return cache
        except (OSError, http.client.HTTPException, ValueError) as error:
            failure = _reason(relative, error)
    else:
        failure = f"downloading is off: {OFFLINE_ENV}=1 or download=False"

    # The folder to tell the user: the shared data folder when they use one, else the cache we would fill.
    target = Path(data_dir).expanduser() / source.root if data_dir else cache
    raise DataNotFoundError(
        f"{source.name} data not found (looked in {'; '.join(looked)}) and not downloaded ({failure}): "
        f"fetch {_what_to_fetch(source)} into {target}"
    )


def data_file(
    source: DataSource, name: str, explicit: str | Path | None = None, *, download: bool | None = None
) -> Path:
    """Return the path of one file of `source`, located as by `locate`.

    For a one-file source an explicit path may name the file itself under any name (e.g. a renamed copy).

    Args:
        source: the data set.
        name: one of `source.files`.
        explicit: as in `locate`.
        download: as in `locate`.

    Raises:
        ValueError: `name` is not one of the source's files (a programming error).
        DataNotFoundError: as in `locate`.
    """
    if name not in source.files:
        raise ValueError(f"{name!r} is not a file of {source.name} (files: {', '.join(source.files)})")
    if explicit is not None and len(source.files) == 1 and Path(explicit).expanduser().is_file():
        return Path(explicit).expanduser()
    return locate(source, explicit, download=download) / name


def cache_folder(source: DataSource) -> Path:
    """The folder where `source` is cached and downloaded: `$FOURFOLD_CACHE/<root>` or `~/.cache/fourfold/<root>`."""
    base = os.environ.get(CACHE_ENV) or str(DEFAULT_CACHE)
    return Path(base).expanduser() / source.root


def _explicit_folder(source: DataSource, path: Path) -> Path:
    """Check a user-given path and return the folder holding the files; never falls through to other places."""
    if path.is_file():
        if len(source.files) == 1 and path.name == PurePosixPath(source.files[0]).name:
            folder = path.parent
            for _ in PurePosixPath(source.files[0]).parts[1:]:
                folder = folder.parent
            if not _missing(source, folder):
                return folder
        wanted = " or ".join(source.files) if len(source.files) == 1 else "a folder"
        raise DataNotFoundError(
            f"{path} is a file, but {source.name} expects {wanted} holding {', '.join(source.files)}; "
            f"pass the folder that holds them"
        )
    if not path.exists():
        raise DataNotFoundError(
            f"{source.name} data not found at {path} (the path given does not exist); "
            f"fetch {_what_to_fetch(source)} into it, or drop the path to use ${DATA_ENV} or the cache"
        )
    missing = _missing(source, path)
    if missing:
        raise DataNotFoundError(
            f"{source.name} data at {path} lacks {', '.join(missing)}; fetch it from {source.base_url} into {path}"
        )
    return path


def _missing(source: DataSource, folder: Path) -> list[str]:
    """The files of `source` that `folder` does not hold (all of them when the folder does not exist)."""
    return [relative for relative in source.files if not (folder / relative).is_file()]


def _describe(source: DataSource, folder: Path, label: str) -> str:
    """One place looked at, for the error message: its label, path and what it lacked."""
    if not folder.exists():
        return f"{label} {folder}: absent"
    missing = _missing(source, folder)
    if len(missing) == len(source.files):
        return f"{label} {folder}: empty"
    return f"{label} {folder}: lacks {', '.join(missing)}"


def _what_to_fetch(source: DataSource) -> str:
    """The URL of a one-file source, or the file names and the URL prefix of a larger one."""
    if len(source.files) == 1:
        return source.base_url + source.files[0]
    return f"{', '.join(source.files)} from {source.base_url}"


def _download_allowed(download: bool | None) -> bool:
    """An explicit `download` argument wins; otherwise download unless FOURFOLD_OFFLINE is set to a true value."""
    if download is not None:
        return download
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def _download(url: str, destination: Path) -> None:
    """Download `url` to `destination` through a temporary file that is renamed only when complete."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.download-{os.getpid()}")
    print(f"fourfold: downloading {url} to {destination}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as response, temporary.open("wb") as out:
            expected = response.headers.get("Content-Length")
            received = 0
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
        if expected is not None and expected.isdigit() and received != int(expected):
            raise OSError(f"the connection closed after {received} of {expected} bytes")
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _reason(relative: str, error: Exception) -> str:
    """A short reason for a failed download of the file `relative`: the HTTP status, or the network error."""
    if isinstance(error, urllib.error.HTTPError):
        return f"downloading {relative} got HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"downloading {relative} failed: {error.reason}"
    return f"downloading {relative} failed: {error}"
