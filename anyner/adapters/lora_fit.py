"""method="lora": a LoRA adapter on the encoder and the head, trained on the support set with
the span × type loss plus, optionally, the boundary-aware contrastive loss."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch

from ..data.example import Example
from ..train.contrastive import ContrastiveTerm
from ..train.losses import pair_loss
from ..train.prepare import window_examples
from ..train.targets import TrainBatch, build_batch
from .config import LoraAdaptSettings
from .store import AdapterStore

MAX_TYPES = 25  # labels asked for per text, as in base training


def support_windows(ner, examples: Sequence[Example]) -> list[Example]:
    predictor = ner.pipeline
    return window_examples(examples, predictor.builder, ner.config.max_words, Counter())


def support_batch(ner, examples: Sequence[Example], types: Sequence[Sequence[str]]) -> TrainBatch:
    """A training batch of support texts, each asked for ``types``."""
    predictor = ner.pipeline
    return build_batch(
        examples,
        types,
        predictor.builder,
        predictor.pad_id,
        predictor.variant,
        ner.config.max_width,
        labels_tokenizer=predictor.labels_tokenizer,
    )


def asked_types(ex: Example, labels: Sequence[str], rng: np.random.Generator) -> list[str]:
    """Every support label (the support set is fully annotated for them), shuffled; past
    MAX_TYPES, the text's own labels and a random sample of the others."""
    order = [labels[i] for i in rng.permutation(len(labels))]
    if len(order) <= MAX_TYPES:
        return order
    own = list(dict.fromkeys(label for _, _, label in ex.spans))[:MAX_TYPES]
    rest = [x for x in order if x not in own]
    return own + rest[: MAX_TYPES - len(own)]


def fit_lora(
    ner,
    store: AdapterStore,
    name: str,
    examples: Sequence[Example],
    labels: Sequence[str],
    settings: LoraAdaptSettings,
    progress=None,
) -> None:
    """Add LoRA adapter ``name`` to ``store`` and train it; the base weights do not change."""
    flags = {p: p.requires_grad for p in store.base.parameters()}
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(settings.seed)  # the LoRA matrices' initial values too: a fit repeats exactly
    view = store.new_lora(name, settings)
    params = store.trainable(name)
    predictor = ner.pipeline
    windows = support_windows(ner, examples)
    term = None
    if settings.contrastive.weight > 0 and predictor.variant.encoding.uses_markers:
        term = ContrastiveTerm(settings.contrastive, view.encoder.model, ner.config.max_width, settings.seed)
    trained = params + (term.parameters() if term is not None else [])
    optimizer = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / settings.steps)
    rng = np.random.default_rng(settings.seed)
    view.train()
    try:
        for step in range(settings.steps):
            pick = rng.choice(len(windows), min(settings.batch_size, len(windows)), replace=False)
            batch_examples = [windows[i] for i in pick]
            types = [asked_types(ex, labels, rng) for ex in batch_examples]
            batch = support_batch(ner, batch_examples, types)
            with term.capture() if term is not None else nullcontext([]) as seen:
                logits = view(**batch.inputs)
            loss = pair_loss(logits, batch.targets, batch.mask)
            if term is not None:
                loss = loss + term.loss(seen, batch.inputs, batch.gold)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if progress is not None:
                progress(step + 1, settings.steps, loss.item())
    finally:
        view.eval()
        store.freeze(flags)
        for p in params:
            p.requires_grad_(False)
        torch.random.set_rng_state(generator_state)
