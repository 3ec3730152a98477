"""The boundary-aware contrastive loss (BANER §3.1.2, after Khosla et al. 2020), carried over
to a span model: a mention's boundary representation [h_start, h_end], taken from one encoder
layer, is pulled towards the state of its type's [ENT] marker in the same pass, against wrong
boundaries of the same mention (start and/or end moved by up to ``shift`` words), random
non-mention spans and mentions of other types.

BANER computes it on one hidden layer (the layer matters, their Fig. 4) and weights it against
the main loss; so does this, through a forward hook on that layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..model.model import gather_positions
from .config import ContrastiveSettings

GoldSpans = Sequence[Sequence[tuple[int, int, int]]]  # per item: (start word, end word, type index)


class BoundaryProjection(nn.Module):
    """[h_start, h_end] -> the type states' space (trained with the loss, not kept after)."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(2 * dim, dim)

    def forward(self, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.cat([starts, ends], dim=-1))


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The transformer blocks of a Hugging Face encoder (BERT, RoBERTa, DeBERTa: ``encoder.layer``)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and name.endswith(("encoder.layer", "layers")) and len(module):
            return module
    raise InputError(f"cannot find the transformer layers of {type(model).__name__}")


class ContrastiveTerm:
    """The loss as training uses it: a projection that trains alongside, the hook on the chosen
    layer of ``encoder``, and the weighted loss of a batch (base training and LoRA adaptation)."""

    def __init__(self, settings: ContrastiveSettings, encoder: nn.Module, max_width: int, seed: int):
        self.settings = settings
        self.max_width = max_width
        self.layers = encoder_layers(encoder)
        self.project = BoundaryProjection(encoder.config.hidden_size)
        self.rng = np.random.default_rng(seed)

    def parameters(self) -> list[nn.Parameter]:
        return list(self.project.parameters())

    def capture(self):
        return layer_states(self.layers, self.settings.layer)

    def loss(
        self, seen: list[torch.Tensor], inputs: dict[str, torch.Tensor], gold: GoldSpans
    ) -> torch.Tensor:
        s = self.settings
        self.project.to(seen[-1].device)
        return s.weight * boundary_contrastive_loss(
            seen[-1],
            inputs["word_positions"],
            inputs["word_lengths"],
            inputs["type_positions"],
            gold,
            self.project,
            temperature=s.temperature,
            shift=s.shift,
            random_negatives=s.random_negatives,
            max_width=self.max_width,
            rng=self.rng,
        )


@contextmanager
def layer_states(layers: nn.ModuleList, layer: int) -> Iterator[list[torch.Tensor]]:
    """Capture the output states of ``layers[layer]`` during the forward passes in the block."""
    seen: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        seen.append(output[0] if isinstance(output, tuple) else output)

    handle = layers[layer].register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def boundary_contrastive_loss(
    states: torch.Tensor,
    word_positions: torch.Tensor,
    word_lengths: torch.Tensor,
    type_positions: torch.Tensor,
    gold: GoldSpans,
    project: BoundaryProjection,
    *,
    temperature: float,
    shift: int,
    random_negatives: int,
    max_width: int,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Mean InfoNCE over the gold mentions; 0 for a batch without any. The candidates of all
    mentions are scored in one call: (G mentions, M candidates) padded, positive first."""
    groups: list[list[tuple[int, int, int]]] = []  # per mention: (item, start, end), positive first
    anchors: list[tuple[int, int]] = []  # per mention: (item, type index)
    for b, spans in enumerate(gold):
        n = int(word_lengths[b])
        taken = {(s, e) for s, e, _ in spans}
        randoms = _random_spans(n, max_width, random_negatives, taken, rng) if spans else []
        for s, e, c in spans:
            wrong = [
                (s + ds, e + de)
                for ds in range(-shift, shift + 1)
                for de in range(-shift, shift + 1)
                if (ds or de) and 0 <= s + ds <= e + de < n and (s + ds, e + de) not in taken
            ]
            others = [(s2, e2) for s2, e2, c2 in spans if c2 != c]
            candidates = [(s, e), *wrong, *randoms, *others]
            if len(candidates) > 1:
                groups.append([(b, x, y) for x, y in candidates])
                anchors.append((b, c))
    if not groups:
        return states.new_zeros(())
    width = max(len(g) for g in groups)
    index = torch.zeros(len(groups), width, 3, dtype=torch.long)
    valid = torch.zeros(len(groups), width, dtype=torch.bool)
    for g, cands in enumerate(groups):
        index[g, : len(cands)] = torch.tensor(cands)
        valid[g, : len(cands)] = True
    index, valid = index.to(states.device), valid.to(states.device)
    words = gather_positions(states, word_positions).float()  # (B, W, D)
    types = gather_positions(states, type_positions).float()  # (B, C, D)
    reps = project(words[index[..., 0], index[..., 1]], words[index[..., 0], index[..., 2]])  # (G, M, D)
    anchor = torch.tensor(anchors, device=states.device)
    anchor_states = types[anchor[:, 0], anchor[:, 1]]  # (G, D)
    sims = F.cosine_similarity(reps, anchor_states.unsqueeze(1), dim=-1) / temperature
    sims = sims.masked_fill(~valid, float("-inf"))
    return F.cross_entropy(sims, sims.new_zeros(len(groups), dtype=torch.long))


def _random_spans(
    n: int, max_width: int, count: int, taken: set[tuple[int, int]], rng: np.random.Generator
) -> list[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for _ in range(count * 3):  # a short text may have fewer free spans than asked for
        if len(out) >= count:
            break
        s = int(rng.integers(0, n))
        e = min(n - 1, s + int(rng.integers(0, max_width)))
        if (s, e) not in taken:
            out.add((s, e))
    return sorted(out)
