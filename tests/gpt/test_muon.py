"""Muon: orthogonalised updates, AdamW for the other groups exactly as torch's, and parameter grouping for a GPT."""

from __future__ import annotations

import pytest
import torch

from fourfold.gpt.config import GPTConfig
from fourfold.gpt.model import GPT
from fourfold.gpt.muon import Muon, muon_groups, orthogonalise


@pytest.mark.parametrize("shape", [(96, 32), (32, 96), (4, 48, 48)])
def test_orthogonalise_brings_singular_values_near_one(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    *batch, rows, columns = shape
    k = min(rows, columns)
    # U diag(s) Vᵀ with singular values spread over a factor 30, as a gradient's are; each should become about 1.
    u = torch.linalg.qr(torch.randn(*batch, rows, k)).Q
    v = torch.linalg.qr(torch.randn(*batch, columns, k)).Q
    matrices = u @ torch.diag_embed(torch.logspace(-1, 0.5, k).expand(*batch, k)) @ v.mT
    singular = torch.linalg.svdvals(orthogonalise(matrices))
    assert singular.min() > 0.5 and singular.max() < 1.3
    assert orthogonalise(matrices).dtype == matrices.dtype


def test_adamw_groups_step_as_torchs_adamw() -> None:
    torch.manual_seed(0)
    ours, theirs = torch.randn(5, 3, requires_grad=True), torch.randn(7, requires_grad=True)
    reference = [ours.detach().clone().requires_grad_(), theirs.detach().clone().requires_grad_()]
    muon = Muon([{"params": [ours, theirs], "muon": False, "lr": 1e-2, "weight_decay": 0.1, "betas": (0.9, 0.95)}])
    adamw = torch.optim.AdamW(reference, lr=1e-2, weight_decay=0.1, betas=(0.9, 0.95))
    for _ in range(5):
        for parameters, optimizer in (([ours, theirs], muon), (reference, adamw)):
            optimizer.zero_grad()
            sum((p**2).sum() for p in parameters).backward()  # type: ignore[union-attr]
            optimizer.step()
    torch.testing.assert_close(ours, reference[0])
    torch.testing.assert_close(theirs, reference[1])


def test_muon_step_moves_a_matrix_by_an_orthogonal_update() -> None:
    weight = torch.zeros(8, 4, requires_grad=True)
    weight.grad = torch.randn(8, 4)
    Muon([{"params": [weight], "muon": True, "lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}]).step()
    singular = torch.linalg.svdvals(weight.detach() / (-0.1 * 2**0.5))  # lr x sqrt(rows / columns)
    assert singular.min() > 0.6 and singular.max() < 1.3


def test_muon_refuses_groups_it_cannot_take() -> None:
    with pytest.raises(ValueError, match="2-D weights only"):
        Muon([{"params": [torch.zeros(3, requires_grad=True)], "muon": True, "lr": 0.02}])
    with pytest.raises(ValueError, match="'muon' flag"):
        Muon([{"params": [torch.zeros(3, 3, requires_grad=True)], "lr": 0.02}])


def test_muon_groups_of_a_gpt() -> None:
    model = GPT(GPTConfig(vocab_size=50, context_length=16, num_layers=2, num_heads=2, embed_dim=16))
    hidden, embeddings, vectors = muon_groups(
        model, learning_rate=1e-3, muon_learning_rate=0.02, weight_decay=0.1, betas=(0.9, 0.95)
    )
    assert hidden["muon"] and hidden["lr"] == 0.02 and len(hidden["params"]) == 8  # 4 matrices per block
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in embeddings["params"]} == {"transformer.wte.weight", "transformer.wpe.weight"}
    assert embeddings["weight_decay"] == 0.1 and vectors["weight_decay"] == 0.0
    assert all(p.dim() == 1 for p in vectors["params"])
    total = sum(len(g["params"]) for g in (hidden, embeddings, vectors))
    assert total == len(list(model.parameters()))
