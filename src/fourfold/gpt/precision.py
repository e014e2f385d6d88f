"""Mixed-precision training with fp32 master weights: a bf16 compute copy of the model's matmul weights.

`--precision bf16` means bf16 compute with fp32 master weights (Micikevicius et al. 2018, "Mixed Precision
Training", section 3.1). Autocast alone gives that, but on the CPU it casts every fp32 weight to bf16 again in every
forward pass and casts every weight gradient back in every backward pass: for GPT-2 small that is 124M parameters
read, converted and written twice a step. Here the cast is done once per optimizer step instead:

- `MixedPrecision` builds a *compute copy* of the model that shares every parameter with it except the weights of
  its `nn.Linear` layers, which become bf16 copies. Layer norms, biases and lookup-only embeddings stay the fp32
  master tensors themselves, so the residual stream stays fp32 (autocast still runs the forward pass, but now only
  casts activations and the small tensors). A weight that a `Linear` shares with a lookup (GPT-2's output head tied
  to the token embedding) is split the same way: the lookup reads the fp32 master, the head a bf16 copy, and both
  gradients end up in the one fp32 master gradient, as under autocast.
- Forward and backward run on the compute copy. `gather_grads` adds the bf16 gradients into the fp32 masters'
  gradients (after every micro-batch, so gradient accumulation sums in fp32), the optimizer steps the fp32
  masters, and `refresh` copies them into the bf16 weights.
- The master model is the one saved in checkpoints and given to the optimizer, so a checkpoint holds the fp32
  weights and resuming continues exactly.

With fp32 (or fp16 with its gradient scaler) there is no copy: `compute` is the model itself and the two calls do
nothing.
"""

from __future__ import annotations

import copy
from typing import Generic, TypeVar

import torch
from torch import Tensor, nn

Model = TypeVar("Model", bound=nn.Module)


class MixedPrecision(Generic[Model]):
    """A model's fp32 master weights and, for bf16 training, its compute copy with bf16 matmul weights.

    Args:
        master: the model, fp32; the optimizer steps its parameters and checkpoints save its state dict.
        compute_dtype: the dtype of the compute copy's matmul weights (torch.bfloat16), or None for no copy.
    """

    def __init__(self, master: Model, compute_dtype: torch.dtype | None) -> None:
        self.master = master
        self.compute_dtype = compute_dtype
        self.pairs: list[tuple[nn.Parameter, Tensor]] = []
        """(compute-dtype weight, its fp32 master) for every weight the compute copy holds in `compute_dtype`."""
        self.compute = master if compute_dtype is None else self._compute_copy(master, compute_dtype)

    def _compute_copy(self, master: Model, dtype: torch.dtype) -> Model:
        # A deep copy whose memo maps every parameter to itself shares all parameters with the master (and copies
        # only the module objects, flags and buffers); the Linear weights are then swapped for low-precision copies.
        shared = {id(parameter): parameter for parameter in master.parameters()}
        compute = copy.deepcopy(master, memo=shared)
        copies: dict[int, nn.Parameter] = {}  # one copy per master tensor, so ties between Linear layers survive
        for module in compute.modules():
            if isinstance(module, nn.Linear):
                weight = module.weight
                if id(weight) not in copies:
                    copies[id(weight)] = nn.Parameter(weight.detach().to(dtype), requires_grad=weight.requires_grad)
                    self.pairs.append((copies[id(weight)], weight))
                module.weight = copies[id(weight)]
        return compute

    def gather_grads(self) -> None:
        """Add the compute copy's low-precision weight gradients into the fp32 master gradients, and clear them.

        Call after each backward pass whose gradients are complete (with DDP, after the synchronised one).
        """
        with torch.no_grad():
            for weight, master in self.pairs:
                if weight.grad is None:
                    continue
                if master.grad is None:
                    master.grad = weight.grad.to(master.dtype)
                else:
                    master.grad.add_(weight.grad)
                weight.grad = None

    def refresh(self) -> None:
        """Copy the fp32 master weights into the compute copy (after every optimizer step and after loading)."""
        with torch.no_grad():
            for weight, master in self.pairs:
                weight.copy_(master)
