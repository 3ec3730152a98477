"""Routing each input to an adapter by retrieval (RetrieveAll, arXiv 2505.19128): a bank of
sentence vectors of labelled examples, each tagged with the adapter it belongs to (a language,
or a domain); for an input, the cosine top-k of the bank, a dynamic threshold, and a majority
vote; no neighbour above the threshold: the shared base (None).

The dynamic threshold keeps the neighbours within ``margin`` of the best one, and never below
``floor``: a text close to one example of a language and far from all others still routes,
while a text close to nothing falls back. numpy only: a bank of tens of thousands of
384-dimensional vectors is one matrix product per batch.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, InputError

BANK_FILE = "router_bank.safetensors"
# the bank's tag for examples that belong to no adapter (languages without one): a vote for it
# routes to the shared base, and says so (adapter None) with its confidence
BASE_TAG = "_base"
ROUTER_FILE = "router.json"
ROUTER_VERSION = 1

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, D) vectors


@dataclass(frozen=True)
class RouterSettings:
    k: int = 8  # neighbours looked at
    floor: float = 0.5  # a neighbour below this cosine never votes
    margin: float = 0.05  # votes come from neighbours within this of the best one
    layers: int | None = None  # sentence vectors pooled after this many encoder layers (None: all)
    version: int = ROUTER_VERSION

    def __post_init__(self) -> None:
        bad_layers = self.layers is not None and self.layers < 1
        if self.k < 1 or not -1.0 <= self.floor <= 1.0 or self.margin < 0 or bad_layers:
            raise InputError(f"invalid router settings: {self}")


@dataclass(frozen=True)
class Route:
    adapter: str | None  # None: the shared base (nothing close enough, or an empty text)
    confidence: float  # the share of the votes the winner got, times its best cosine

    def to_dict(self) -> dict:
        return {"adapter": self.adapter, "confidence": round(self.confidence, 4)}


class Router:
    def __init__(
        self, vectors: np.ndarray, tags: np.ndarray, names: Sequence[str], settings=RouterSettings()
    ):
        vectors = np.asarray(vectors, dtype=np.float32)
        tags = np.asarray(tags, dtype=np.int64)
        if vectors.ndim != 2 or len(vectors) != len(tags) or not len(vectors):
            raise CheckpointError(
                f"a router bank needs (N, D) vectors and N tags; got {vectors.shape}, {tags.shape}"
            )
        if tags.min() < 0 or tags.max() >= len(names):
            raise CheckpointError(f"the router bank's tags point past its {len(names)} adapter names")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-12)
        self.tags = tags
        self.names = list(names)
        self.settings = settings

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @classmethod
    def build(
        cls, embed: Embed, texts: Sequence[str], adapters: Sequence[str], settings=RouterSettings()
    ) -> Router:
        """A bank of ``texts``, each tagged with its adapter's name (or :data:`BASE_TAG`)."""
        names = sorted(set(adapters))
        index = {n: i for i, n in enumerate(names)}
        return cls(embed(texts), np.array([index[a] for a in adapters]), names, settings)

    def route(self, queries: np.ndarray, empty: Sequence[bool] | None = None) -> list[Route]:
        """One route per query vector (``empty[i]``: text i has no words, so the base)."""
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise InputError(f"router queries must be (n, {self.dim}) vectors, got {q.shape}")
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        sims = q @ self.vectors.T  # (n, N)
        k = min(self.settings.k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        routes = []
        for i in range(len(q)):
            if empty is not None and empty[i]:
                routes.append(Route(None, 0.0))
                continue
            near = top[i][np.argsort(-sims[i, top[i]])]
            best = float(sims[i, near[0]])
            cut = max(self.settings.floor, best - self.settings.margin)
            voters = [int(self.tags[j]) for j in near if sims[i, j] >= cut]
            if not voters:
                routes.append(Route(None, 0.0))
                continue
            winner, votes = Counter(voters).most_common(1)[0]
            name = self.names[winner]
            routes.append(Route(None if name == BASE_TAG else name, votes / len(voters) * max(best, 0.0)))
        return routes

    # -- files -------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        import torch
        from safetensors.torch import save_file

        from ..checkpoints.int8 import quantize

        folder.mkdir(parents=True, exist_ok=True)
        # 8-bit vectors: a quarter of float32 in git, and the neighbours they pick barely move
        # (docs/multilingual.md); tags as int32
        tags = self.tags.astype(np.int32)
        state = {"vectors": torch.from_numpy(self.vectors), "tags": torch.from_numpy(tags)}
        save_file(quantize(state), str(folder / BANK_FILE))
        meta = {"names": self.names, "settings": dataclasses.asdict(self.settings)}
        (folder / ROUTER_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")

    @classmethod
    def load(cls, folder: Path, dim: int | None = None) -> Router:
        """``dim``: the vectors' width the model makes; a bank of another width is refused."""
        from ..checkpoints.weights import read_state_dict

        try:
            meta = json.loads((folder / ROUTER_FILE).read_text("utf-8"))
            # a shipped bank may hold 8-bit vectors (checkpoints/int8.py)
            bank = {key: value.numpy() for key, value in read_state_dict(folder / BANK_FILE).items()}
            settings = RouterSettings(**meta["settings"])
            if settings.version > ROUTER_VERSION:
                raise CheckpointError(
                    f"router version {settings.version}; this anyner reads {ROUTER_VERSION}"
                )
            router = cls(bank["vectors"], bank["tags"], meta["names"], settings)
        except CheckpointError as exc:
            raise CheckpointError(f"the router in {folder} is damaged: {exc}") from None
        except Exception as exc:  # json, safetensors and missing keys raise many types
            raise CheckpointError(f"cannot read the router in {folder}: {type(exc).__name__}: {exc}") from exc
        if dim is not None and router.dim != dim:
            raise CheckpointError(
                f"the router bank in {folder} holds {router.dim}-dimensional vectors and this model makes "
                f"{dim}: it was built for another model; rebuild it with this one"
            )
        return router
