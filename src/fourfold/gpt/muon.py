"""Muon: momentum orthogonalised by Newton-Schulz for the hidden matrices, AdamW for everything else.

Muon (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks"; the optimizer of the
modded-nanoGPT speedruns) keeps SGD's Nesterov momentum for each 2-D weight inside the transformer blocks, but
replaces the update by the nearest semi-orthogonal matrix to it, computed with five iterations of a quintic
Newton-Schulz map in bf16, and scales it by sqrt(max(1, rows / columns)). The embeddings, the output head tied to
them, and the 1-D gains and biases keep AdamW, as in the speedruns. `--optimizer muon` selects it; GPT-2's recipe
(`--optimizer adamw`, the default) is unchanged. One optimizer holds both kinds of parameter group (flag `muon`)
so the training loop, gradient clipping and checkpoints treat it like AdamW.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

NEWTON_SCHULZ_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""(a, b, c) of the quintic iteration X <- aX + (bA + cA²)X, A = XXᵀ, tuned by Jordan et al. for fast convergence."""


def orthogonalise(matrices: Tensor, steps: int = 5) -> Tensor:
    """Approximately semi-orthogonal matrices near `matrices` (each one's U Vᵀ), by Newton-Schulz iteration in bf16.

    Args:
        matrices: a stack of matrices of one shape, (..., rows, columns).
        steps: iterations; five bring the singular values to about [0.7, 1.2], which is what Muon needs.
    """
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    tall = matrices.shape[-2] > matrices.shape[-1]
    x = matrices.bfloat16()
    if tall:  # iterate on the wide orientation: X Xᵀ is then the smaller square
        x = x.mT
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)  # spectral norms at most 1: the iteration converges
    for _ in range(steps):
        gram = x @ x.mT  # (..., rows, rows)
        x = a * x + (b * gram + c * gram @ gram) @ x
    if tall:
        x = x.mT
    result: Tensor = x.to(matrices.dtype)
    return result


class Muon(torch.optim.Optimizer):
    """Muon for the parameter groups flagged `muon=True`, AdamW (decoupled weight decay) for the others.

    Args:
        groups: parameter groups, each a dict with "params", "muon" (bool), "lr" and "weight_decay"; Muon groups
            may set "momentum" (default 0.95), AdamW groups "betas" (default (0.9, 0.95)) and "eps" (1e-8).
    """

    def __init__(self, groups: Iterable[dict[str, Any]]) -> None:
        defaults = {"momentum": 0.95, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.0}
        super().__init__(list(groups), defaults)
        for group in self.param_groups:
            if "muon" not in group:
                raise ValueError("every Muon parameter group needs a 'muon' flag (True: Muon, False: AdamW)")
            if group["muon"] and any(p.dim() != 2 for p in group["params"]):
                raise ValueError("Muon groups take 2-D weights only; put embeddings' and 1-D parameters in AdamW ones")

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            parameters = [p for p in group["params"] if p.grad is not None]
            if group["muon"]:
                self._muon_update(parameters, group)
            else:
                for parameter in parameters:
                    self._adamw_update(parameter, group)

    def _muon_update(self, parameters: list[Tensor], group: dict[str, Any]) -> None:
        """Nesterov momentum, then the orthogonalised update; matrices of one shape are orthogonalised as a stack."""
        by_shape: dict[tuple[int, ...], list[tuple[Tensor, Tensor]]] = {}
        for parameter in parameters:
            assert parameter.grad is not None
            state = self.state[parameter]
            if not state:
                state["momentum_buffer"] = torch.zeros_like(parameter)
            momentum = state["momentum_buffer"]
            momentum.lerp_(parameter.grad, 1 - group["momentum"])
            nesterov = parameter.grad.lerp(momentum, group["momentum"])
            by_shape.setdefault(tuple(parameter.shape), []).append((parameter, nesterov))
        for (rows, columns), pairs in by_shape.items():
            updates = orthogonalise(torch.stack([nesterov for _, nesterov in pairs]))  # (K, rows, columns)
            scale = max(1.0, rows / columns) ** 0.5
            for (parameter, _), update in zip(pairs, updates, strict=True):
                parameter.mul_(1 - group["lr"] * group["weight_decay"])
                parameter.add_(update, alpha=-group["lr"] * scale)

    def _adamw_update(self, parameter: Tensor, group: dict[str, Any]) -> None:
        assert parameter.grad is not None
        state = self.state[parameter]
        if not state:
            state["step"] = torch.zeros(())
            state["exp_avg"] = torch.zeros_like(parameter)
            state["exp_avg_sq"] = torch.zeros_like(parameter)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = float(state["step"])
        grad = parameter.grad
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (state["exp_avg_sq"] / (1 - beta2**step)).sqrt_().add_(group["eps"])
        parameter.mul_(1 - group["lr"] * group["weight_decay"])
        parameter.addcdiv_(state["exp_avg"], denominator, value=-group["lr"] / (1 - beta1**step))


def muon_groups(
    model: nn.Module,
    *,
    learning_rate: float,
    muon_learning_rate: float,
    weight_decay: float,
    betas: tuple[float, float],
) -> list[dict[str, Any]]:
    """Parameter groups for `Muon` over a GPT: its blocks' matrices with Muon, the rest with AdamW.

    The blocks' matrices (`transformer.h.*`, 2-D) take Muon at `muon_learning_rate`, without weight decay as in
    the speedruns (decoupled decay scales with the learning rate, and Muon's is 20 times AdamW's); the embeddings
    (and the head tied to them) take AdamW at `learning_rate` with the weight decay; 1-D gains and biases AdamW
    without decay.
    """
    hidden, embeddings, vectors = [], [], []
    for name, parameter in model.named_parameters():  # a tied parameter is listed once
        if not parameter.requires_grad:
            continue
        if parameter.dim() == 2 and name.startswith("transformer.h."):
            hidden.append(parameter)
        elif parameter.dim() >= 2:
            embeddings.append(parameter)
        else:
            vectors.append(parameter)
    return [
        {"params": hidden, "muon": True, "lr": muon_learning_rate, "weight_decay": 0.0},
        {"params": embeddings, "muon": False, "lr": learning_rate, "weight_decay": weight_decay, "betas": betas},
        {"params": vectors, "muon": False, "lr": learning_rate, "weight_decay": 0.0, "betas": betas},
    ]
