"""Checkpoints: a folder of safetensors and JSON files, written atomically and loaded strictly.

A checkpoint folder (DESIGN.md, "Runs, checkpoints, data"), e.g. `runs/gpt/demo/checkpoints/step_00000100/`:

    checkpoint.json     the manifest: format version, kind ("gpt", "five", ...), step, creation time, fourfold
                        version, the aliases of tied tensors, and the byte size and sha256 of every other file
    config.json         the run's config (`fourfold.core.config.to_jsonable`), when one was given
    model.safetensors   the model's state dict; a tensor tied to another (GPT-2's lm_head is its token embedding)
                        is stored once and named in the manifest's aliases
    state.safetensors   the tensors and arrays of the extra state (optimizer, RNG states, data position)
    state.json          the extra state's skeleton (see `fourfold.core.tree`); nothing is ever pickled

`save_checkpoint` writes everything into a temporary sibling folder, fsyncs it and renames it into place, so a crash
leaves the old checkpoint or the new one, never a mix. Replacing a checkpoint takes two renames (old one away, new
one in); a crash between them leaves only `.{name}.old-…`, which `load_checkpoint` reads instead. Loading checks
every file against the manifest and reports any problem as one `CheckpointError` sentence, never a traceback.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fourfold
from fourfold.core.config import to_jsonable
from fourfold.core.errors import FourfoldError

if TYPE_CHECKING:  # torch is imported where used, so listing checkpoints (`fourfold --help`) stays torch-free
    import torch

FORMAT_VERSION = 1
"""Version of the folder layout this fourfold writes; it reads this one and older ones."""

MANIFEST, CONFIG, MODEL = "checkpoint.json", "config.json", "model.safetensors"
STATE_TENSORS, STATE_SKELETON = "state.safetensors", "state.json"
REQUIRED_FILES = (MODEL, STATE_TENSORS, STATE_SKELETON)  # config.json is written only when there is a config
STEP_NAME = re.compile(r"\.?(step_(\d+))(\.(old|tmp)-.*)?")  # step_N and the leftovers of its saves


class CheckpointError(FourfoldError):
    """A checkpoint is missing, damaged, of another kind or version, or does not fit the model."""


@dataclass
class Checkpoint:
    """What `load_checkpoint` read from a checkpoint folder."""

    path: Path
    """The folder that was asked for (after a recovery its `.old-…` sibling was read instead)."""
    config: dict[str, Any] | None
    """The config as saved, in JSON types: convert with `fourfold.core.config.from_jsonable`; None if none saved."""
    model: dict[str, torch.Tensor]
    """The model's state dict on the CPU, mapped from the file copy-on-write; tied names are one tensor object."""
    state: dict[str, Any]
    """The extra state tree exactly as saved (tuples, int keys, tensors, numpy arrays and scalars)."""
    step: int
    """The training step the checkpoint was saved at."""
    kind: str
    """What wrote it, e.g. "gpt"."""
    format_version: int
    """The folder layout version it was written with."""
    created: str
    """When it was written (ISO 8601, UTC)."""


def save_checkpoint(
    path: str | Path,
    *,
    model: Mapping[str, torch.Tensor],
    config: object | None = None,
    state: Mapping[str, Any] | None = None,
    step: int = 0,
    kind: str = "",
) -> Path:
    """Write a checkpoint folder at `path` atomically, replacing the checkpoint already there.

    Leftovers of an earlier save of `path` that was killed (`.{name}.tmp-…`, `.{name}.old-…`) are removed first;
    if the kill came between the two renames of a replacement, the old checkpoint is first put back at `path`.
    One process at a time may save to a given path.

    Args:
        path: the checkpoint folder, e.g. `checkpoint_path(run_dir / "checkpoints", step)`.
        model: the model's state dict (tensors on any device; tied tensors are stored once).
        config: the run's config dataclass (anything `to_jsonable` converts to a JSON object), or None.
        state: the extra state tree: optimizer state dict, RNG states, data position (see `fourfold.core.tree`).
        step: the training step, recorded in the manifest.
        kind: what writes it, e.g. "gpt"; `load_checkpoint(kind=...)` checks it.

    Returns:
        `path`, as a Path.

    Raises:
        CheckpointError: a value that cannot be stored (the message names its place in `state` or `model`), `path`
            holds something that is not a checkpoint, or the disk refused a write.
    """
    import torch

    from fourfold.core import tree

    path = Path(path)
    # Encode everything before touching the disk, so a bad value leaves nothing behind.
    try:
        skeleton, state_tensors = tree.encode_tree(dict(state or {}), root="state")
    except FourfoldError as error:
        raise CheckpointError(f"cannot save checkpoint {path}: {error}") from None
    for name, tensor in model.items():
        if not (isinstance(name, str) and isinstance(tensor, torch.Tensor)):
            raise CheckpointError(
                f"cannot save checkpoint {path}: model[{name!r}] is of type {type(tensor).__name__}, not a tensor"
            )
    config_json = None if config is None else to_jsonable(config)
    if config_json is not None and not isinstance(config_json, dict):
        raise TypeError(f"config must convert to a JSON object, got {type(config).__name__}")
    if path.exists() and not (path.is_dir() and ((path / MANIFEST).is_file() or not any(path.iterdir()))):
        raise CheckpointError(f"cannot save checkpoint {path}: it exists and is not a checkpoint; choose another path")

    temporary = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(path)
        temporary.mkdir()
        files: dict[str, dict[str, Any]] = {}
        aliases: dict[str, dict[str, str]] = {}
        if config_json is not None:
            files[CONFIG] = _write_json(temporary / CONFIG, config_json, indent=2)
        files[MODEL], aliases[MODEL] = _write_tensors(temporary / MODEL, dict(model))
        files[STATE_TENSORS], aliases[STATE_TENSORS] = _write_tensors(temporary / STATE_TENSORS, state_tensors)
        files[STATE_SKELETON] = _write_json(temporary / STATE_SKELETON, skeleton, indent=None)
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "step": int(step),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "fourfold_version": fourfold.__version__,
            "aliases": aliases,
            "files": files,
        }
        # The manifest goes last: a folder with a manifest is complete.
        _write_json(temporary / MANIFEST, manifest, indent=2)
        _fsync_directory(temporary)
        _move_into_place(temporary, path)
    except OSError as error:
        raise CheckpointError(
            f"cannot write checkpoint {path} ({error}); check free disk space and permissions"
        ) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)  # gone already when the save succeeded
    return path


def load_checkpoint(path: str | Path, *, kind: str | None = None, verify: bool = True) -> Checkpoint:
    """Read the checkpoint folder at `path`, checking every file against its manifest.

    Args:
        path: the checkpoint folder.
        kind: the kind expected ("gpt"); None accepts any.
        verify: check each file's sha256 (reads every byte once more); sizes are always checked.

    Raises:
        CheckpointError: one sentence naming `path` for a missing folder, a folder that is not a checkpoint, an
            unreadable manifest, a newer format, another kind, a missing, truncated or corrupt file, or a file
            that does not parse.
    """
    from fourfold.core import tree

    path = Path(path)
    folder = path if path.exists() else _recoverable(path)
    if folder is None:
        raise CheckpointError(f"no checkpoint at {path}: the folder does not exist; check the path")
    if not (folder / MANIFEST).is_file():
        raise CheckpointError(f"{path} is not a checkpoint: it has no {MANIFEST}; pass a folder save_checkpoint wrote")
    manifest = _read_json(folder / MANIFEST, path)
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if type(version) is int and version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version} but this fourfold reads up to {FORMAT_VERSION}; "
            "upgrade fourfold to load it"
        )
    if not _valid_manifest(manifest):
        raise CheckpointError(f"checkpoint {path} has a {MANIFEST} with missing or mistyped fields; it is damaged")
    if kind is not None and manifest["kind"] != kind:
        raise CheckpointError(
            f"checkpoint {path} is a {manifest['kind']!r} checkpoint, expected {kind!r}; pass a {kind!r} checkpoint"
        )
    try:
        for name, entry in manifest["files"].items():
            _check_file(folder / name, entry, path, verify)
        aliases = manifest["aliases"]
        model = _read_tensors(folder / MODEL, aliases.get(MODEL, {}), path)
        state_tensors = _read_tensors(folder / STATE_TENSORS, aliases.get(STATE_TENSORS, {}), path)
        skeleton = _read_json(folder / STATE_SKELETON, path)
        config = _read_json(folder / CONFIG, path) if CONFIG in manifest["files"] else None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path} ({_first_line(error)}); check its permissions") from None
    try:
        state = tree.decode_tree(skeleton, state_tensors)
        if not isinstance(state, dict):
            raise tree.TreeError("state", f"is a {type(state).__name__}, not a dict")
    except FourfoldError as error:
        raise CheckpointError(f"checkpoint {path} has an unreadable {STATE_SKELETON}: {error}") from None
    return Checkpoint(
        path=path,
        config=config,
        model=model,
        state=state,
        step=manifest["step"],
        kind=manifest["kind"],
        format_version=manifest["format_version"],
        created=manifest["created"],
    )


def load_model_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model` strictly, explaining a mismatch by key and shape.

    Args:
        model: the module to load into.
        state: a state dict, e.g. `load_checkpoint(path).model`.
        source: where `state` came from (a path), for the message.

    Raises:
        CheckpointError: keys missing from `state`, keys the model lacks, or shapes that differ; the message
            lists the first few with both shapes.
    """
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    found = {name: tuple(tensor.shape) for name, tensor in state.items()}
    problems = [
        f"{name!r} is {shape} in the checkpoint but {expected[name]} in the model"
        for name, shape in found.items()
        if name in expected and shape != expected[name]
    ]
    problems += [
        f"{n!r} {s} is in the model but missing from the checkpoint" for n, s in expected.items() if n not in found
    ]
    problems += [f"{n!r} {s} is in the checkpoint but not in the model" for n, s in found.items() if n not in expected]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(
            f"checkpoint {source} does not fit the model: {', '.join(problems[:3])}{more}; "
            "was it saved with another config?"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint {source} does not fit the model ({_first_line(error)})") from None


def checkpoint_path(directory: str | Path, step: int) -> Path:
    """The folder of the checkpoint at `step` in a run's checkpoint directory, e.g. `.../step_00000100`."""
    return Path(directory) / f"step_{step:08d}"


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The highest-step complete checkpoint in `directory`, or None if there is none.

    Temporary folders of unfinished saves and folders whose manifest is missing or unreadable are skipped; a
    checkpoint whose replacement was killed between its two renames counts (`load_checkpoint` recovers it).
    """
    complete = _numbered_checkpoints(Path(directory))
    return complete[-1][1] if complete else None


def prune_checkpoints(directory: str | Path, keep: int) -> list[Path]:
    """Delete all but the `keep` highest-step complete checkpoints in `directory`; returns the deleted folders.

    Everything numbered below the oldest checkpoint kept goes, leftovers of killed saves and deletions included;
    numbered folders above it are left alone even when incomplete, to be looked at.
    """
    if keep < 0:
        raise CheckpointError(f"cannot prune {directory}: keep must be 0 or more (got {keep})")
    directory = Path(directory)
    complete = _numbered_checkpoints(directory)
    kept = complete[len(complete) - keep :] if keep else []
    removed = []
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        match = STEP_NAME.fullmatch(entry.name)
        if match and entry.is_dir() and (not kept or int(match.group(2)) < kept[0][0]):
            _remove_folder(entry)
            removed.append(entry)
    return removed


def _write_tensors(file: Path, tensors: dict[str, torch.Tensor]) -> tuple[dict[str, Any], dict[str, str]]:
    """Write `tensors` as safetensors; returns the file's manifest entry and the aliases (name -> stored name)."""
    from safetensors.torch import save_file

    from fourfold.core.tree import split_shared

    stored, aliases = split_shared(tensors)
    save_file(stored, str(file))
    return _hash_and_sync(file), aliases


def _read_tensors(file: Path, aliases: dict[str, str], path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(file))
        for alias, name in aliases.items():
            tensors[alias] = tensors[name]
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as error:
        raise _damaged(path, file, error) from None
    return tensors


def _write_json(file: Path, data: Any, indent: int | None) -> dict[str, Any]:
    file.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return _hash_and_sync(file)


def _read_json(file: Path, path: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _damaged(path, file, error) from None


def _hash_and_sync(file: Path) -> dict[str, Any]:
    """Flush `file` to the disk and return its manifest entry (size and sha256 of what is on disk)."""
    with file.open("rb") as handle:
        os.fsync(handle.fileno())
    return {"bytes": file.stat().st_size, "sha256": _sha256(file)}


def _sha256(file: Path) -> str:
    with file.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _check_file(file: Path, entry: dict[str, Any], path: Path, verify: bool) -> None:
    if not file.is_file():
        raise CheckpointError(
            f"checkpoint {path} is missing {file.name}; the checkpoint is incomplete, use another checkpoint"
        )
    size = file.stat().st_size
    if size != entry["bytes"]:
        raise CheckpointError(
            f"checkpoint {path} has {file.name} of {size} bytes where its manifest says {entry['bytes']}; "
            "the file was truncated or replaced, use another checkpoint"
        )
    if verify and _sha256(file) != entry["sha256"]:
        raise CheckpointError(
            f"checkpoint {path} has a corrupt {file.name} (its sha256 does not match the manifest); "
            "use another checkpoint"
        )


def _valid_manifest(manifest: Any) -> bool:
    """Whether `manifest` has every field `load_checkpoint` relies on, with the right types."""
    fields = {"format_version": int, "kind": str, "step": int, "created": str, "aliases": dict, "files": dict}
    if not isinstance(manifest, dict) or any(type(manifest.get(k)) is not t for k, t in fields.items()):
        return False
    files, aliases = manifest["files"], manifest["aliases"]
    entries_ok = all(
        name in (CONFIG, *REQUIRED_FILES) and isinstance(e, dict) and type(e.get("bytes")) is int and "sha256" in e
        for name, e in files.items()
    )
    aliases_ok = all(isinstance(a, dict) and all(isinstance(v, str) for v in a.values()) for a in aliases.values())
    return entries_ok and aliases_ok and all(name in files for name in REQUIRED_FILES)


def _move_into_place(temporary: Path, path: Path) -> None:
    old = path.parent / f".{path.name}.old-{os.getpid()}-{secrets.token_hex(4)}" if path.exists() else None
    if old is not None:
        os.rename(path, old)
        # A kill here leaves `old` complete and `path` missing; load_checkpoint and the next save recover it.
    os.rename(temporary, path)
    _fsync_directory(path.parent)
    if old is not None:
        _remove_folder(old)


def _clean_leftovers(path: Path) -> None:
    """Put back an old checkpoint orphaned by a killed replacement, then delete the leftovers of `path`'s saves."""
    if not path.exists():
        old = _recoverable(path)
        if old is not None:
            os.rename(old, path)
    for folder in _siblings(path, "tmp") + _siblings(path, "old"):
        _remove_folder(folder)


def _recoverable(path: Path) -> Path | None:
    """The newest complete `.{name}.old-…` sibling of a missing `path`: what a replacement killed mid-way left."""
    complete = [folder for folder in _siblings(path, "old") if (folder / MANIFEST).is_file()]
    return max(complete, key=lambda folder: (folder / MANIFEST).stat().st_mtime) if complete else None


def _siblings(path: Path, marker: str) -> list[Path]:
    prefix = f".{path.name}.{marker}-"
    return sorted(e for e in path.parent.iterdir() if e.name.startswith(prefix)) if path.parent.is_dir() else []


def _remove_folder(folder: Path) -> None:
    # The manifest goes first so a deletion cut short never looks like a complete checkpoint.
    (folder / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(folder)


def _numbered_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete `step_N` checkpoints in `directory`, by increasing step."""
    if not directory.is_dir():
        return []
    found: dict[int, Path] = {}
    for entry in directory.iterdir():
        match = STEP_NAME.fullmatch(entry.name)
        if match is None or match.group(4) == "tmp" or (entry.name.startswith(".") and match.group(3) is None):
            continue
        path = directory / match.group(1)
        folder = path if path.exists() else _recoverable(path)
        try:
            if folder is not None and _valid_manifest(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))):
                found[int(match.group(2))] = path
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # no manifest, or one cut short: not a complete checkpoint
    return sorted(found.items())


def _fsync_directory(directory: Path) -> None:
    """Make the renames and new entries in `directory` durable (POSIX only; Windows cannot open a folder)."""
    if os.name == "posix":
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _damaged(path: Path, file: Path, error: BaseException) -> CheckpointError:
    return CheckpointError(
        f"checkpoint {path} has an unreadable {file.name} ({_first_line(error)}); the file is damaged, use another"
    )


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
