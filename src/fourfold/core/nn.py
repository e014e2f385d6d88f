"""One plain pre-LN transformer block, with GPT-2's exact structure and parameter names.

The block is GPT-2's (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners", section 2.3:
layer norm moved to the input of each sub-block): x + attn(ln_1(x)), then x + mlp(ln_2(x)), where attn is
multi-head self-attention with fused q/k/v and mlp is Linear(C, 4C), tanh-approximated GELU, Linear(4C, C).
Parameter names follow GPT-2's checkpoints (`ln_1`, `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`,
`mlp.c_proj`) so they map onto this module by name; GPT-2's Conv1D weights are the transpose of these Linear
weights, which the GPT checkpoint importer handles. GPT uses it causally; Five uses it non-causally over padded
unit lists with an attention mask.

For generation the attention can keep a key/value cache (`LayerCache`, one per block, gathered in `KVCache`):
the keys and values of the positions already seen are stored in preallocated buffers, so each new token costs one
position's projections and one attention row instead of recomputing the whole prefix.

Shapes:
    B batch, T tokens (or units) fed in this call, S keys attended over (cached and new), C embed_dim,
    H num_heads, D head dim = C / H, T_max the cache's capacity.
"""

from __future__ import annotations

from collections.abc import Sequence

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

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, cache: LayerCache | None = None) -> Tensor:
        """Attend over the T positions of x (B, T, C), after the cached ones if a cache is given.

        See `TransformerBlock.forward` for `attn_mask` and `cache`.
        """
        b, t, c = x.shape  # the B, T, C of the legend (lower case: they are local sizes)
        h = self.num_heads
        d = c // h
        qkv = self.c_attn(x).view(b, t, 3, h, d)  # (B, T, 3C) -> (B, T, 3, H, D): C = H·D for each of q, k, v
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, T, 3, H, D) -> (3, B, H, T, D) -> 3 x (B, H, T, D)
        start = 0  # position of the first query: the number of keys cached before this call
        if cache is not None:
            start = cache.length
            k, v = cache.append(k, v)  # (B, H, T, D) -> (B, H, S, D), S = start + T
        if attn_mask is not None and attn_mask.dtype != torch.bool:
            raise ValueError(f"attn_mask must be a bool tensor (True = may attend), got {attn_mask.dtype}")
        if self.causal and t > 1 and (attn_mask is not None or start > 0):
            # scaled_dot_product_attention takes a mask or is_causal, not both, and its is_causal aligns the
            # queries with the first keys; so fold causality in: query i sits at start + i and sees keys 0..start + i.
            allowed = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)  # (T, S)
            attn_mask = allowed if attn_mask is None else attn_mask & allowed  # broadcast to (B, H, T, S)
        # A single new query may see every key, so it needs no causal mask (the decoding step's fast path).
        is_causal = self.causal and t > 1 and attn_mask is None
        dropout_p = self.dropout if self.training else 0.0
        y = functional.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal
        )  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # (B, H, T, D) -> (B, T, C)
        out: Tensor = self.c_proj(y)
        # Dropout is the identity outside training; not calling it saves a module call per layer and token.
        return self.resid_dropout(out) if self.training else out


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
        out: Tensor = self.c_proj(self.gelu(self.c_fc(x)))
        return self.dropout(out) if self.training else out  # (the identity outside training: see SelfAttention)


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

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, cache: LayerCache | None = None) -> Tensor:
        """Apply the block to x (B, T, C), returning (B, T, C).

        Args:
            x: the residual stream, (B, T, C).
            attn_mask: optional bool mask broadcastable to (B, H, T, S), True where a query may attend to a key,
                e.g. (B, 1, 1, T) to hide padded units; S = T without a cache, cached + T with one. When the block
                is causal the causal mask is applied as well. Every query should be allowed at least one key.
            cache: this block's key/value cache: x's keys and values are appended to it and the queries attend
                over everything it holds, so x is the continuation of the sequences cached (x's first position is
                `cache.length`; causal masking is offset accordingly, so several new tokens may come at once).
        """
        x = x + self.attn(self.ln_1(x), attn_mask, cache)
        x = x + self.mlp(self.ln_2(x))
        return x


class LayerCache:
    """The keys and values one attention layer has seen, in buffers preallocated to (B, H, T_max, D).

    `length` positions are filled; `append` writes the next ones in place (no concatenation, no reallocation) and
    returns views of everything filled so far.
    """

    def __init__(
        self,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        max_length: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        shape = (batch_size, num_heads, max_length, head_dim)  # (B, H, T_max, D)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0

    def append(self, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Store keys and values (B, H, T, D) after the cached ones; return all of them, (B, H, S, D) views.

        Raises:
            ValueError: the batch size differs from the cache's, or the cache would hold more than T_max positions.
        """
        start, end = self.length, self.length + keys.shape[2]
        if keys.shape[0] != self.keys.shape[0]:
            raise ValueError(f"the cache holds {self.keys.shape[0]} sequences but {keys.shape[0]} were given")
        if end > self.keys.shape[2]:
            raise ValueError(
                f"the cache holds {self.keys.shape[2]} positions and has {start} filled, so {keys.shape[2]} more do "
                "not fit; make a larger cache"
            )
        self.keys.narrow(2, start, end - start).copy_(keys)
        self.values.narrow(2, start, end - start).copy_(values)
        self.length = end
        return self.keys.narrow(2, 0, end), self.values.narrow(2, 0, end)  # (B, H, S, D) views, S = end

    def select(self, rows: Tensor) -> None:
        """Keep only these rows of the batch (a 1-D index tensor), e.g. to drop finished sequences."""
        self.keys = self.keys.index_select(0, rows)  # (B, H, T_max, D) -> (len(rows), H, T_max, D)
        self.values = self.values.index_select(0, rows)


class KVCache:
    """The key/value caches of a stack of attention layers for one batch of sequences, which may be left-padded.

    Rows of different lengths are stored left-padded: row b's first `padding[b]` positions hold no token. The cache
    knows each row's padding so that `positions` numbers a row's tokens from 0 at its first real token and
    `attention_mask` hides the padded keys. A padded query attends to itself only, so its softmax always has a key:
    a query with none would give NaN, and 0 x NaN in the next layer's values would leak into the real rows.

    Args:
        num_layers: one `LayerCache` per layer.
        batch_size: B, the number of sequences.
        num_heads: H of every layer.
        head_dim: D of every layer.
        max_length: T_max, the positions (padding included) the cache can hold.
        padding: left padding of each row (B values), or None when no row is padded.
        dtype: the keys' and values' dtype (the model's).
        device: where the buffers live (the model's device).
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        max_length: int,
        *,
        padding: Sequence[int] | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        if padding is not None and len(padding) != batch_size:
            raise ValueError(f"padding has {len(padding)} values for a batch of {batch_size}")
        self.layers = [
            LayerCache(batch_size, num_heads, head_dim, max_length, dtype=dtype, device=device)
            for _ in range(num_layers)
        ]
        self.max_length = max_length
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.padding: Tensor | None = None  # (B,) long; None when no row is padded (no mask needed)
        self.min_padding = 0
        self._set_padding(list(padding) if padding is not None else [])

    @property
    def length(self) -> int:
        """The positions filled, padding included: the position in the cache of the next token fed."""
        return self.layers[0].length if self.layers else 0

    @property
    def batch_size(self) -> int:
        """B, the number of sequences held."""
        return self.layers[0].keys.shape[0] if self.layers else 0

    def positions(self, num_new: int) -> Tensor:
        """Positions in their own sequences of the next `num_new` tokens: (B, T), or (1, T) when no row is padded.

        A row's position 0 is its first real token; padded positions get 0 (their outputs are never used).
        """
        new = torch.arange(self.length, self.length + num_new, device=self.device)  # (T,)
        if self.padding is None:
            return new[None, :]  # (T,) -> (1, T)
        return (new[None, :] - self.padding[:, None]).clamp_min(0)  # (B, T)

    def attention_mask(self, num_new: int) -> Tensor | None:
        """Which keys each of the next `num_new` queries may see besides causality: (B, 1, T, S), None if unpadded.

        A key is visible if it is a real token, or if it is the query itself (see the class docstring).
        """
        if self.padding is None:
            return None
        end = self.length + num_new
        keys = torch.arange(end, device=self.device)  # (S,)
        queries = torch.arange(self.length, end, device=self.device)  # (T,)
        real = keys[None, :] >= self.padding[:, None]  # (B, S)
        itself = keys[None, :] == queries[:, None]  # (T, S)
        return (real[:, None, :] | itself[None, :, :])[:, None]  # (B, T, S) -> (B, 1, T, S)

    def select(self, rows: Sequence[int]) -> None:
        """Keep only these rows of the batch, in this order (e.g. drop finished sequences)."""
        index = torch.tensor(list(rows), dtype=torch.long, device=self.device)  # (B',)
        for layer in self.layers:
            layer.select(index)
        padding = self.padding.index_select(0, index).tolist() if self.padding is not None else []
        self._set_padding(padding)

    def _set_padding(self, padding: list[int]) -> None:
        if any(p < 0 for p in padding):
            raise ValueError(f"padding must not be negative (got {padding})")
        self.min_padding = min(padding, default=0)
        has_padding = any(p > 0 for p in padding)
        self.padding = torch.tensor(padding, dtype=torch.long, device=self.device) if has_padding else None


def _check_sizes(embed_dim: int, num_heads: int, dropout: float) -> None:
    if num_heads < 1 or embed_dim < 1 or embed_dim % num_heads != 0:
        raise ValueError(
            f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads}); "
            f"change one so that embed_dim / num_heads is a whole number"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1) (got {dropout})")
