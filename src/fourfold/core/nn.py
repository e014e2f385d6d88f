"""One plain pre-LN transformer block, with GPT-2's exact structure and parameter names.

The block is GPT-2's (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners", section 2.3:
layer norm moved to the input of each sub-block): x + attn(ln_1(x)), then x + mlp(ln_2(x)), where attn is
multi-head self-attention with fused q/k/v and mlp is Linear(C, 4C), tanh-approximated GELU, Linear(4C, C).
Parameter names follow GPT-2's checkpoints (`ln_1`, `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`,
`mlp.c_proj`) so they map onto this module by name; GPT-2's Conv1D weights are the transpose of these Linear
weights, which the GPT checkpoint importer handles. GPT uses it causally; Five uses it non-causally over padded
unit lists with an attention mask.

Shapes:
    B batch, T tokens (or units), C embed_dim, H num_heads, D head dim = C / H.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional


class SelfAttention(nn.Module):
    """Multi-head self-attention with fused q/k/v projection, through `scaled_dot_product_attention`."""

    def __init__(
        self, embed_dim: int, num_heads: int, *, dropout: float = 0.0, bias: bool = True, causal: bool = True
    ) -> None:
        super().__init__()
        _check_sizes(embed_dim, num_heads, dropout)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.causal = causal
        self.c_attn = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.c_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Attend over the T positions of x (B, T, C); see `TransformerBlock.forward` for `attn_mask`."""
        b, t, c = x.shape  # the B, T, C of the legend (lower case: they are local sizes)
        h = self.num_heads
        d = c // h
        q, k, v = self.c_attn(x).split(c, dim=2)  # (B, T, 3C) -> 3 x (B, T, C)
        q = q.view(b, t, h, d).transpose(1, 2)  # (B, T, C) -> (B, H, T, D)
        k = k.view(b, t, h, d).transpose(1, 2)  # (B, T, C) -> (B, H, T, D)
        v = v.view(b, t, h, d).transpose(1, 2)  # (B, T, C) -> (B, H, T, D)
        dropout_p = self.dropout if self.training else 0.0
        if attn_mask is None:
            y = functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=self.causal)
        else:
            if attn_mask.dtype != torch.bool:
                raise ValueError(f"attn_mask must be a bool tensor (True = may attend), got {attn_mask.dtype}")
            if self.causal:
                # scaled_dot_product_attention takes a mask or is_causal, not both, so fold causality in.
                allowed = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()  # (T, T)
                attn_mask = attn_mask & allowed  # broadcast to (B, H, T, T)
            y = functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # (B, H, T, D) -> (B, T, C)
        out: Tensor = self.resid_dropout(self.c_proj(y))
        return out


class MLP(nn.Module):
    """GPT-2's position-wise feed-forward: Linear(C, ratio·C), tanh-approximated GELU, Linear(ratio·C, C)."""

    def __init__(self, embed_dim: int, *, mlp_ratio: int = 4, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.c_fc = nn.Linear(embed_dim, mlp_ratio * embed_dim, bias=bias)
        # GPT-2 uses the tanh approximation of GELU; exact GELU would not reproduce its checkpoints.
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(mlp_ratio * embed_dim, embed_dim, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Map x (B, T, C) to (B, T, C) position by position."""
        out: Tensor = self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
        return out


class TransformerBlock(nn.Module):
    """A pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)), named as in GPT-2.

    Args:
        embed_dim: C, the width of the residual stream; divisible by num_heads.
        num_heads: H, the number of attention heads.
        mlp_ratio: the MLP's hidden width as a multiple of C (GPT-2: 4).
        dropout: dropout on attention weights and on both residual branches (only in training mode).
        bias: False drops every bias, those of the layer norms included.
        causal: True lets each position attend only to itself and earlier ones (GPT); False to all (Five).
        layer_norm_eps: epsilon of both layer norms (GPT-2: 1e-5).

    Raises:
        ValueError: embed_dim is not a positive multiple of num_heads, or dropout is not in [0, 1).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        mlp_ratio: int = 4,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = True,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        _check_sizes(embed_dim, num_heads, dropout)
        if mlp_ratio < 1:
            raise ValueError(f"mlp_ratio must be 1 or more (got {mlp_ratio})")
        self.causal = causal
        self.ln_1 = nn.LayerNorm(embed_dim, eps=layer_norm_eps, bias=bias)
        self.attn = SelfAttention(embed_dim, num_heads, dropout=dropout, bias=bias, causal=causal)
        self.ln_2 = nn.LayerNorm(embed_dim, eps=layer_norm_eps, bias=bias)
        self.mlp = MLP(embed_dim, mlp_ratio=mlp_ratio, dropout=dropout, bias=bias)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Apply the block to x (B, T, C), returning (B, T, C).

        Args:
            x: the residual stream, (B, T, C).
            attn_mask: optional bool mask broadcastable to (B, H, T, T), True where a query may attend to a key,
                e.g. (B, 1, 1, T) to hide padded units. When the block is causal the causal mask is applied as
                well. Every query should be allowed at least one key.
        """
        x = x + self.attn(self.ln_1(x), attn_mask)
        x = x + self.mlp(self.ln_2(x))
        return x


def _check_sizes(embed_dim: int, num_heads: int, dropout: float) -> None:
    if num_heads < 1 or embed_dim < 1 or embed_dim % num_heads != 0:
        raise ValueError(
            f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads}); "
            f"change one so that embed_dim / num_heads is a whole number"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1) (got {dropout})")
