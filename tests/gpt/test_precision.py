"""Mixed precision with fp32 master weights: the compute copy's layout, gradients as autocast's, fp32 accumulation,
and the refresh after a step."""

from __future__ import annotations

import torch
from torch import nn

from fourfold.gpt.config import GPTConfig
from fourfold.gpt.model import GPT
from fourfold.gpt.precision import MixedPrecision

TINY = GPTConfig(vocab_size=50, context_length=16, num_layers=2, num_heads=2, embed_dim=32)


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(TINY).train()


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, TINY.vocab_size, (3, 13), generator=generator)
    return tokens[:, :-1], tokens[:, 1:]


def test_compute_copy_has_bf16_matmul_weights_and_shares_everything_else() -> None:
    model = tiny_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    mixed = MixedPrecision(model, torch.bfloat16)
    compute = mixed.compute
    assert compute is not model
    linears = [m for m in compute.modules() if isinstance(m, nn.Linear)]
    assert all(m.weight.dtype == torch.bfloat16 for m in linears)
    assert len(mixed.pairs) == len(linears)  # 4 per block and the head
    # The lookup reads the fp32 master; the head, tied to it in the master, computes with a bf16 copy of it.
    assert compute.transformer.wte.weight is model.transformer.wte.weight
    head_copy, head_master = next((w, m) for w, m in mixed.pairs if w is compute.lm_head.weight)
    assert head_master is model.transformer.wte.weight
    assert torch.equal(head_copy, model.transformer.wte.weight.to(torch.bfloat16))
    for name, parameter in compute.named_parameters():
        if parameter.dtype == torch.float32:  # layer norms, biases, the position embedding: the masters themselves
            assert parameter is model.get_parameter(name), name
    # The master model is untouched: fp32, same values, same names (what checkpoints save).
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(after[k].dtype == torch.float32 and torch.equal(after[k], before[k]) for k in before)


def test_master_gradients_equal_autocasts() -> None:
    x, y = batch(1)
    reference = tiny_model()
    with torch.autocast("cpu", torch.bfloat16):
        reference(x, targets=y).backward()
    model = tiny_model()
    mixed = MixedPrecision(model, torch.bfloat16)
    with torch.autocast("cpu", torch.bfloat16):
        mixed.compute(x, targets=y).backward()
    mixed.gather_grads()
    assert all(weight.grad is None for weight, _ in mixed.pairs)
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters(), strict=True):
        assert ours.grad is not None and ours.grad.dtype == torch.float32, name
        torch.testing.assert_close(ours.grad, theirs.grad, msg=name)


def test_gradients_of_micro_batches_accumulate_in_fp32() -> None:
    model = tiny_model()
    mixed = MixedPrecision(model, torch.bfloat16)
    separate = []
    for seed in (1, 2):
        x, y = batch(seed)
        with torch.autocast("cpu", torch.bfloat16):
            mixed.compute(x, targets=y).backward()
        mixed.gather_grads()
        separate.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
        model.zero_grad(set_to_none=True)
    for seed in (1, 2):
        x, y = batch(seed)
        with torch.autocast("cpu", torch.bfloat16):
            mixed.compute(x, targets=y).backward()
        mixed.gather_grads()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None
        torch.testing.assert_close(parameter.grad, separate[0][name] + separate[1][name], msg=name)


def test_refresh_copies_the_stepped_masters_into_the_compute_weights() -> None:
    model = tiny_model()
    mixed = MixedPrecision(model, torch.bfloat16)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5)
    weight, master = mixed.pairs[0]
    assert not torch.equal(weight, master.to(torch.bfloat16))
    mixed.refresh()
    assert all(torch.equal(weight, master.to(torch.bfloat16)) for weight, master in mixed.pairs)


def test_fp32_needs_no_copy() -> None:
    model = tiny_model()
    mixed = MixedPrecision(model, None)
    assert mixed.compute is model and mixed.pairs == []
    x, y = batch(1)
    model(x, targets=y).backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    mixed.gather_grads()
    mixed.refresh()
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))


def test_linear_layers_sharing_a_weight_share_one_copy() -> None:
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    mixed = MixedPrecision(nn.Sequential(first, second), torch.bfloat16)
    compute = mixed.compute
    assert isinstance(compute, nn.Sequential)
    assert compute[0].weight is compute[1].weight and len(mixed.pairs) == 1
