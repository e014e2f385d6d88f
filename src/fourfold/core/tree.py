"""Pickle-free storage of Python values: state trees and shared tensors, as JSON plus flat dicts for safetensors.

A checkpoint's extra state (an optimizer's state dict, RNG states, the data position, the step) is a tree of None,
bool, int, float, str, list, tuple, dict, torch.Tensor, numpy.ndarray and numpy scalars. `encode_tree` turns it into
a JSON skeleton plus a flat dict of tensors (for safetensors); `decode_tree` rebuilds the identical tree. pickle would
do this in one line, but unpickling runs code named by the file, so a downloaded checkpoint could run anything.

What JSON cannot say directly is written as an object with one tag key:

    {"__tuple__": [...]}                       a tuple (JSON only has lists)
    {"__dict__": [[key, value], ...]}          a dict with a key that is not a str (int, float, None, tuple, ...)
    {"__float__": "nan" | "inf" | "-inf"}      a float that strict JSON cannot hold
    {"__tensor__": "3"}                        entry "3" of the tensor dict
    {"__ndarray__": {"key": "4", "dtype": d, "shape": [...]}}
                                               entry "4": the array's raw bytes as uint8, with its numpy dtype
                                               description (`numpy.lib.format.dtype_to_descr`), so any dtype
                                               and byte order come back exactly
    {"__numpy__": {"dtype": d, "hex": "..."}}  a numpy scalar, as the hex of its bytes

Ints of any size (numpy Generator states hold 128-bit ones) are plain JSON ints. Dicts whose keys are all str and
none of them a tag stay plain JSON objects, so a skeleton stays readable.

`split_shared` prepares a flat tensor dict (a model's state dict) the same way: safetensors refuses tensors that share
memory, so tied weights are stored once and named as aliases.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch

from fourfold.core.errors import FourfoldError

TUPLE = "__tuple__"
DICT = "__dict__"
FLOAT = "__float__"
TENSOR = "__tensor__"
NDARRAY = "__ndarray__"
NUMPY = "__numpy__"
TAGS = frozenset({TUPLE, DICT, FLOAT, TENSOR, NDARRAY, NUMPY})
SUPPORTED = "None, bool, int, float, str, list, tuple, dict, torch.Tensor, numpy.ndarray or a numpy scalar"


class TreeError(FourfoldError):
    """A value in a state tree cannot be stored, or a stored skeleton does not decode.

    Attributes:
        where: the value's place in the tree, e.g. `state["optimizer"]["state"][0]["foo"]`.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where} {message}")


def encode_tree(tree: Any, root: str = "state") -> tuple[Any, dict[str, torch.Tensor]]:
    """Split `tree` into a JSON-ready skeleton and the tensors it refers to.

    Args:
        tree: the nested value to store.
        root: the name the tree is called by in error messages.

    Returns:
        (skeleton, tensors): the skeleton holds only JSON types; `tensors` maps the keys the skeleton refers to
        onto tensors (numpy arrays become 1-D uint8 tensors of their bytes). A tensor object that appears twice
        is stored once and comes back as one object.

    Raises:
        TreeError: a value of an unsupported type, a dict key that is not a hashable scalar or tuple, a tensor
            safetensors cannot hold, or a container that contains itself; the message names its place in the tree.
    """
    encoder = _Encoder()
    return encoder.encode(tree, root), encoder.tensors


def decode_tree(skeleton: Any, tensors: dict[str, torch.Tensor], root: str = "state") -> Any:
    """Rebuild the tree `encode_tree` split into `skeleton` and `tensors`.

    Raises:
        TreeError: the skeleton refers to a missing tensor or holds a malformed tag.
    """
    if isinstance(skeleton, list):
        return [decode_tree(item, tensors, f"{root}[{i}]") for i, item in enumerate(skeleton)]
    if not isinstance(skeleton, dict):
        return skeleton
    if len(skeleton) != 1 or next(iter(skeleton)) not in TAGS:
        return {key: decode_tree(value, tensors, _child(root, key)) for key, value in skeleton.items()}
    ((tag, payload),) = skeleton.items()
    try:
        if tag == TUPLE:
            return tuple(decode_tree(item, tensors, f"{root}[{i}]") for i, item in enumerate(payload))
        if tag == DICT:
            pairs = [(decode_tree(k, tensors, root), v) for k, v in payload]
            return {key: decode_tree(value, tensors, _child(root, key)) for key, value in pairs}
        if tag == FLOAT:
            return float(payload)
        if tag == TENSOR:
            return _stored(tensors, payload, root)
        if tag == NDARRAY:
            dtype = _dtype(decode_tree(payload["dtype"], tensors, root))
            data = _stored(tensors, payload["key"], root).numpy().tobytes()
            return _array(data, dtype, tuple(payload["shape"]))
        dtype = _dtype(decode_tree(payload["dtype"], tensors, root))
        return _array(bytes.fromhex(payload["hex"]), dtype, ())[()]
    except (KeyError, TypeError, ValueError) as error:
        raise TreeError(root, f"holds a malformed {tag} entry ({error})") from None


class _Encoder:
    """One encoding pass: collects the tensors and remembers tensor objects already stored."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self.stored: dict[int, str] = {}  # id(tensor) -> key, so a tensor seen twice is stored once
        self.open: set[int] = set()  # ids of the containers being encoded, to catch a cycle before a RecursionError

    def encode(self, value: Any, where: str) -> Any:
        """The skeleton of `value`, found at `where` in the tree."""
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {FLOAT: repr(value)}
        if isinstance(value, torch.Tensor):
            return {TENSOR: self._tensor(value, where)}
        if isinstance(value, np.generic):
            return {NUMPY: {"dtype": self._dtype(value.dtype, where), "hex": value.tobytes().hex()}}
        if type(value) is np.ndarray:
            return {NDARRAY: self._ndarray(value, where)}
        if type(value) in (list, tuple) or isinstance(value, dict):
            if id(value) in self.open:
                raise TreeError(where, "contains itself; a checkpoint can only store a tree")
            self.open.add(id(value))
            try:
                return self._container(value, where)
            finally:
                self.open.discard(id(value))
        raise TreeError(
            where, f"is of type {type(value).__qualname__}, which a checkpoint cannot store; use {SUPPORTED}"
        )

    def _container(self, value: list[Any] | tuple[Any, ...] | dict[Any, Any], where: str) -> Any:
        if isinstance(value, list):
            return [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {TUPLE: [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]}
        if all(type(key) is str and key not in TAGS for key in value):
            return {key: self.encode(item, _child(where, key)) for key, item in value.items()}
        return {DICT: [[self._key(key, where), self.encode(item, _child(where, key))] for key, item in value.items()]}

    def _key(self, key: Any, where: str) -> Any:
        # Keys must hash the same after the round trip, so only scalars and tuples of them are allowed.
        if type(key) is tuple:
            return {TUPLE: [self._key(k, where) for k in key]}
        if key is None or type(key) in (bool, int, float, str) or isinstance(key, np.generic):
            return self.encode(key, where)
        raise TreeError(where, f"has a key of type {type(key).__qualname__}; dict keys must be scalars or tuples")

    def _tensor(self, tensor: torch.Tensor, where: str) -> str:
        if tensor.layout != torch.strided or tensor.is_meta:
            raise TreeError(where, f"is a {tensor.layout} tensor on {tensor.device}; store a dense tensor with data")
        if id(tensor) not in self.stored:
            key = str(len(self.tensors))
            self.tensors[key] = tensor.detach()
            self.stored[id(tensor)] = key
        return self.stored[id(tensor)]

    def _ndarray(self, array: np.ndarray[Any, Any], where: str) -> dict[str, Any]:
        dtype = self._dtype(array.dtype, where)
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        key = str(len(self.tensors))
        # from_numpy shares memory and warns on read-only arrays, so those are copied first.
        self.tensors[key] = torch.from_numpy(raw if raw.flags.writeable else raw.copy())
        return {"key": key, "dtype": dtype, "shape": list(array.shape)}

    def _dtype(self, dtype: np.dtype[Any], where: str) -> Any:
        if dtype.hasobject:
            raise TreeError(where, "is a numpy value of object dtype, which a checkpoint cannot store without pickle")
        return self.encode(np.lib.format.dtype_to_descr(dtype), where)


def split_shared(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Make a flat tensor dict safe for safetensors, which refuses tensors that share memory.

    Names that view the same memory in the same way (tied weights: GPT-2's `lm_head.weight` is its
    `transformer.wte.weight`) are stored once and returned as aliases; a tensor that overlaps a stored one in any
    other way, or is not contiguous, is stored as a contiguous copy.

    Returns:
        (stored, aliases): the tensors to write, and alias name -> stored name (set `d[alias] = d[name]` on load).
    """
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    views: dict[tuple[Any, ...], str] = {}
    storages: set[tuple[Any, ...]] = set()
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        storage = (tensor.device, tensor.untyped_storage().data_ptr())
        view = (*storage, tensor.storage_offset(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
        if tensor.numel() > 0:  # empty tensors all sit at address 0 and never alias
            if view in views:
                aliases[name] = views[view]
                continue
            views[view] = name
        if storage in storages or not tensor.is_contiguous():
            tensor = tensor.clone(memory_format=torch.contiguous_format)
        elif tensor.numel() > 0:
            storages.add(storage)
        stored[name] = tensor
    return stored, aliases


def _child(where: str, key: Any) -> str:
    """The place of `where[key]`, written the way Python code would index it."""
    return f"{where}[{json.dumps(key, ensure_ascii=False) if isinstance(key, str) else repr(key)}]"


def _stored(tensors: dict[str, torch.Tensor], key: Any, where: str) -> torch.Tensor:
    if not isinstance(key, str) or key not in tensors:
        raise TreeError(where, f"refers to stored tensor {key!r}, which is not in the tensor file")
    return tensors[key]


def _dtype(description: Any) -> np.dtype[Any]:
    return np.lib.format.descr_to_dtype(description)


def _array(data: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """A writable array of `dtype` and `shape` over a copy of `data`."""
    if dtype.itemsize == 0:
        return np.zeros(shape, dtype)
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
