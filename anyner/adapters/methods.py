"""adapt(): the methods, their registry, and the choice between them by cross-validation on
the support set itself ("auto")."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..data.example import Example
from ..errors import InputError
from ..eval.metrics import score
from .config import AdaptSettings
from .lora_fit import fit_lora, support_windows
from .lorahub import LIBRARY, fit_lorahub, library_for
from .manifest import AdapterManifest
from .prototypes import prototype_problem, prototypes_from, support_vectors
from .store import Adapter, AdapterStore, Prototypes

CV_PREFIX = "_cv_"  # temporary adapters of cross-validation; no user name starts with "_"


@dataclass
class AdaptContext:
    ner: object  # the AnyNER facade
    store: AdapterStore
    labels: list[str]
    settings: AdaptSettings
    progress: Callable[[str], None] = lambda message: None


# A method fits adapter ``name`` on ``examples`` and returns what it made (its LoRA weights,
# if any, are in the store already; the adapter is registered by the caller).
Method = Callable[[AdaptContext, str, Sequence[Example]], Adapter]
METHODS: dict[str, Method] = {}


def register_method(name: str) -> Callable[[Method], Method]:
    def add(fn: Method) -> Method:
        METHODS[name] = fn
        return fn

    return add


def _manifest(ctx: AdaptContext, name: str, method: str, lora: bool, prototypes: bool) -> AdapterManifest:
    return AdapterManifest(
        name, method, tuple(ctx.labels), ctx.store.base_hash(), lora, prototypes, ctx.settings.to_dict()
    )


def _best_prototypes(ctx: AdaptContext, name: str, examples: Sequence[Example], lora: bool) -> Prototypes:
    """Prototypes with the blend that scores best on held-out support folds."""
    if (problem := prototype_problem(ctx.ner)) is not None:
        raise InputError(problem)
    model = ctx.store.view if lora else ctx.store.base
    windows = support_windows(ctx.ner, examples)
    vectors = support_vectors(ctx.ner, model, windows, ctx.labels)
    folds = _folds(len(windows), ctx.settings.folds)
    blends = ctx.settings.prototype.blends
    scores = []
    for blend in blends:
        gold, found = [], []
        for held in folds:
            rows = [i for i in range(len(windows)) if i not in set(held)]
            protos = prototypes_from(vectors, rows, blend)
            trial_name = name if lora else CV_PREFIX + "proto"  # with lora: on ``name``'s LoRA weights
            trial = Adapter(_manifest(ctx, trial_name, "prototype", lora, True), protos)
            g, f = _run(ctx, trial, [windows[i] for i in held])
            gold += g
            found += f
        scores.append(score(gold, found).micro.f1)
    blend = blends[int(np.argmax(scores))]
    ctx.progress(f"prototype blend {blend} (held-out F1 {100 * max(scores):.1f})")
    return prototypes_from(vectors, range(len(windows)), blend)


def _run(ctx: AdaptContext, adapter: Adapter, windows: Sequence[Example]):
    """Gold and predicted spans of ``windows`` with a trial adapter in place for the call."""
    store, name = ctx.store, adapter.manifest.name
    before = store.adapters.get(name)
    store.add(adapter)
    try:
        return _predicted(ctx, windows, name)
    finally:
        if before is None:
            del store.adapters[name]
        else:
            store.adapters[name] = before


def _predicted(ctx: AdaptContext, windows: Sequence[Example], adapter: str | None):
    """Gold and predicted spans of ``windows`` with ``adapter`` (None: the base model)."""
    found = ctx.ner.batch_predict_words(
        [ex.words for ex in windows], ctx.labels, threshold=ctx.settings.threshold, adapter=adapter
    )
    return [ex.spans for ex in windows], [[(s, e, label) for s, e, label, _ in spans] for spans in found]


@register_method("prototype")
def _prototype(ctx: AdaptContext, name: str, examples: Sequence[Example]) -> Adapter:
    return Adapter(
        _manifest(ctx, name, "prototype", False, True), _best_prototypes(ctx, name, examples, False)
    )


@register_method("lora")
def _lora(ctx: AdaptContext, name: str, examples: Sequence[Example]) -> Adapter:
    steps = ctx.settings.lora.steps

    def progress(step: int, total: int, loss: float) -> None:
        if step % 20 == 0 or step == total:
            ctx.progress(f"lora step {step}/{total} loss {loss:.3f}")

    fit_lora(
        ctx.ner, ctx.store, name, examples, ctx.labels, replace(ctx.settings.lora, steps=steps), progress
    )
    return Adapter(_manifest(ctx, name, "lora", True, False))


@register_method("lorahub")
def _lorahub(ctx: AdaptContext, name: str, examples: Sequence[Example]) -> Adapter:
    hub = ctx.settings.lorahub
    weights = fit_lorahub(ctx.ner, ctx.store, name, examples, ctx.labels, hub, _library(ctx))
    ctx.progress("lorahub weights " + ", ".join(f"{w:.2f}" for w in weights))
    manifest = _manifest(ctx, name, "lorahub", True, False)
    return Adapter(replace(manifest, report={"weights": [round(float(w), 4) for w in weights]}))


@register_method("none")
def _none(ctx: AdaptContext, name: str, examples: Sequence[Example]) -> Adapter:
    """The base model as it is, under a name: what auto keeps when no method beat the base
    model on the held-out folds (a few sentences can teach a model the wrong thing)."""
    return Adapter(_manifest(ctx, name, "none", False, False))


@register_method("all")
def _all(ctx: AdaptContext, name: str, examples: Sequence[Example]) -> Adapter:
    """Contrastive LoRA, then prototypes over the adapted model."""
    _lora(ctx, name, examples)
    protos = _best_prototypes(ctx, name, examples, True)
    return Adapter(_manifest(ctx, name, "all", True, True), protos)


@dataclass
class AdaptReport:
    """What adapt did: the method used, how long it took, and F1 on held-out support folds
    (each method fitted on the other folds) beside the base model's."""

    name: str
    method: str
    seconds: float
    support_texts: int
    support_mentions: int
    labels: list[str]
    fold_f1: dict[str, float] = field(default_factory=dict)  # "base" and each method tried

    def __str__(self) -> str:
        folds = ", ".join(f"{k} {v:.1f}" for k, v in self.fold_f1.items()) or "not scored"
        return (
            f"adapter {self.name!r}: method {self.method}, {self.seconds:.1f} s, support "
            f"{self.support_texts} texts / {self.support_mentions} mentions; held-out fold F1: {folds}"
        )

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def cross_validate(ctx: AdaptContext, method: str, examples: Sequence[Example]) -> float:
    """Micro F1 over held-out folds, the method fitted on the rest each time ("base": none)."""
    gold, found = [], []
    for k, held in enumerate(_folds(len(examples), ctx.settings.folds)):
        held_set = set(held)
        train = [ex for i, ex in enumerate(examples) if i not in held_set]
        test = [examples[i] for i in held]
        if method == "base" or not any(ex.spans for ex in train):
            g, f = _predicted(ctx, test, None)
        else:
            trial = f"{CV_PREFIX}{method}_{k}"
            adapter = METHODS[method](ctx, trial, train)
            try:
                g, f = _run(ctx, replace(adapter, manifest=replace(adapter.manifest, name=trial)), test)
            finally:
                ctx.store.drop_lora(trial)
        gold += g
        found += f
    return round(100 * score(gold, found).micro.f1, 2)


def _folds(n: int, folds: int) -> list[list[int]]:
    order = np.random.default_rng(0).permutation(n).tolist()
    k = max(1, min(folds, n))
    return [sorted(order[i::k]) for i in range(k)]


def adapt(
    ctx: AdaptContext, name: str, method: str, examples: Sequence[Example], evaluate: bool
) -> AdaptReport:
    tic = time.perf_counter()
    candidates = _candidates(ctx, method)
    fold_f1: dict[str, float] = {}
    if evaluate or len(candidates) > 1:
        fold_f1["base"] = cross_validate(ctx, "base", examples)
        for m in candidates:
            ctx.progress(f"cross-validating {m}")
            fold_f1[m] = cross_validate(ctx, m, examples)
    chosen = max(candidates, key=lambda m: fold_f1.get(m, 0.0)) if len(candidates) > 1 else candidates[0]
    if method == "auto" and fold_f1[chosen] <= fold_f1["base"]:
        ctx.progress(f"no method beat the base model on held-out folds ({fold_f1['base']:.1f}): keeping it")
        chosen = "none"
    ctx.progress(f"fitting {chosen} on the whole support set")
    adapter = METHODS[chosen](ctx, name, examples)
    report = AdaptReport(
        name, chosen, 0.0, len(examples), sum(len(ex.spans) for ex in examples), list(ctx.labels), fold_f1
    )
    report.seconds = round(time.perf_counter() - tic, 2)
    ctx.store.add(
        Adapter(
            replace(adapter.manifest, report={**adapter.manifest.report, **report.to_dict()}),
            adapter.prototypes,
        )
    )
    return report


def _candidates(ctx: AdaptContext, method: str) -> list[str]:
    if method != "auto":
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; methods: {', '.join([*METHODS, 'auto'])}")
        return [method]
    names = ["lora"] if prototype_problem(ctx.ner) else ["prototype", "lora"]
    if library_for(ctx.store, _library(ctx)):
        names.append("lorahub")
    return names


def _library(ctx: AdaptContext) -> Path:
    """The adapters LoraHub composes: the settings' folder, else the ones shipped with anyner."""
    return Path(ctx.settings.lorahub.library) if ctx.settings.lorahub.library else LIBRARY
