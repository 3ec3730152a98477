"""The ``"anyner"`` spaCy v3 pipeline component.

    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("anyner", config={"labels": ["person", "organization"], "threshold": 0.5})
    doc = nlp("Bill Gates founded Microsoft.")
    [(ent.text, ent.label_, ent._.anyner_score) for ent in doc.ents]

spaCy finds the factory through the ``spacy_factories`` entry point that anyner installs, so
neither ``import anyner`` nor this import is needed; importing this module registers it too.

Where the results go:

- ``doc.spans[spans_key]`` (default ``"anyner"``) always holds every entity found, as spans
  labelled with the entity type. Each span's score is ``span._.anyner_score`` (read-only,
  on the spans of ``doc.ents`` too); the group's ``attrs["scores"]`` lists the scores in
  span order (as found, before any later edit of the group). When two entities widen to the
  very same span and label, ``span._.anyner_score`` is the higher of their scores.
- ``doc.ents`` gets the entities in flat mode only (``flat_ner`` true, ``multi_label``
  false), since spaCy's entities cannot nest or overlap. Existing entities are kept: with
  ``overwrite_ents`` false an anyner entity that overlaps one is left out of ``doc.ents``
  (it stays in ``doc.spans``); with ``overwrite_ents`` true the anyner entity wins and the
  existing entity it overlaps is removed. These are the rules of spaCy's ``entity_ruler``.
- anyner reports character offsets; a span that starts or ends inside a spaCy token is
  widened to whole tokens (``doc.char_span(..., alignment_mode="expand")``). Two entities
  widened onto the same token overlap: ``doc.ents`` keeps the higher score.
- An entity that still maps to no token (offsets outside the text, or on whitespace only)
  is reported with a warning and kept, as the plain anyner dict, in the group's
  ``attrs["unaligned"]``.

``nlp.pipe(texts, batch_size=n)`` runs the model once per ``n`` docs; the ``batch_size``
setting is how many texts go through the encoder at a time inside that call.

Saving: ``nlp.to_disk`` stores the settings (config.cfg), not the weights. ``spacy.load``
loads the model again from ``model``, so that folder must exist on the machine that loads
the pipeline (use an absolute path, or ``null`` for the model shipped with anyner), or
override it: ``spacy.load(path, config={"components.anyner.model": "/new/place"})``.
Labels given as a ``{label: description}`` dict are stored as a config section, whose
keys may not start with ``@``.
"""

from __future__ import annotations

import json
import operator
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import minibatch

from .. import __version__
from .. import load as load_model
from ..errors import CheckpointError, InputError
from ..options import DecodeOptions
from ..text.labels import parse_labels

FACTORY = "anyner"
SCORE_ATTR = "anyner_score"

DEFAULT_CONFIG: dict[str, Any] = {
    "labels": None,
    "threshold": 0.5,
    "model": None,
    "adapter": None,
    "flat_ner": True,
    "multi_label": False,
    "batch_size": 8,
    "spans_key": "anyner",
    "overwrite_ents": False,
}


def _score_key(start_char: int, end_char: int, label: str) -> tuple:
    return ("anyner", SCORE_ATTR, start_char, end_char, label)


def _get_score(span: Span) -> float | None:
    return span.doc.user_data.get(_score_key(span.start_char, span.end_char, span.label_))


def register_extensions() -> None:
    """``Span._.anyner_score`` (None on spans anyner did not make). Safe to call again.

    spaCy keys a span's extension values by its offsets alone, so the same span under two
    labels (multi-label mode) would share one value; the score is kept per label instead, in
    ``doc.user_data``, and read back by this getter."""
    if not Span.has_extension(SCORE_ATTR):
        Span.set_extension(SCORE_ATTR, getter=_get_score)


register_extensions()


@Language.factory(
    FACTORY,
    default_config=DEFAULT_CONFIG,
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans", f"span._.{SCORE_ATTR}"],
)
def make_anyner(
    nlp: Language,
    name: str,
    labels: list[str] | dict[str, str] | None,
    threshold: float,
    model: str | None,
    adapter: str | None,
    flat_ner: bool,
    multi_label: bool,
    batch_size: int,
    spans_key: str,
    overwrite_ents: bool,
) -> AnyNERComponent:
    return AnyNERComponent(
        nlp,
        name,
        labels=labels,
        threshold=threshold,
        model=model,
        adapter=adapter,
        flat_ner=flat_ner,
        multi_label=multi_label,
        batch_size=batch_size,
        spans_key=spans_key,
        overwrite_ents=overwrite_ents,
    )


class AnyNERComponent:
    """Finds entities of the configured types with an anyner model (loaded once, here)."""

    def __init__(
        self,
        nlp: Language,
        name: str = FACTORY,
        *,
        labels: Sequence[str] | Mapping[str, str] | None,
        threshold: float = 0.5,
        model: str | Path | None = None,
        adapter: str | Path | None = None,
        flat_ner: bool = True,
        multi_label: bool = False,
        batch_size: int = 8,
        spans_key: str = "anyner",
        overwrite_ents: bool = False,
    ):
        self.name = name
        where = f"spaCy component {name!r}"
        self.labels = _checked_labels(labels, name)
        try:
            self.options = DecodeOptions(threshold, flat_ner, multi_label, batch_size)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        if not isinstance(overwrite_ents, bool):
            raise InputError(f"{where}: 'overwrite_ents' must be true or false, got {overwrite_ents!r}")
        if not isinstance(spans_key, str) or not spans_key:
            raise InputError(f"{where}: 'spans_key' must be a non-empty string, got {spans_key!r}")
        self.overwrite_ents, self.spans_key = overwrite_ents, spans_key
        self.model_path = None if model is None else str(model)
        try:
            self.model = load_model(model)
        except CheckpointError as exc:
            raise CheckpointError(
                f"{where}: {exc}. A saved spaCy pipeline stores only the model path, "
                "not the weights: put the model folder there, or pass another path with "
                f'spacy.load(path, config={{"components.{name}.model": "/path/to/model"}})'
            ) from None
        self.adapter_path = None if adapter is None else str(adapter)
        if adapter is not None:  # a folder saved by anyner adapt / save_adapter
            try:
                self.model.set_adapter(self.model.load_adapter(adapter))
            except (CheckpointError, InputError) as exc:
                raise type(exc)(f"{where}: adapter {str(adapter)!r}: {exc}") from None

    # the decoding settings, as the component's config named them
    threshold = property(lambda self: self.options.threshold)
    flat_ner = property(lambda self: self.options.flat_ner)
    multi_label = property(lambda self: self.options.multi_label)
    batch_size = property(lambda self: self.options.batch_size)

    @property
    def sets_ents(self) -> bool:
        """Whether results go to ``doc.ents`` too (flat mode), not only to ``doc.spans``."""
        return self.flat_ner and not self.multi_label

    # -- running --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """One model call per ``batch_size`` docs (``nlp.pipe`` passes its own batch size)."""
        for docs in minibatch(stream, size=batch_size):
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def predict(self, docs: Sequence[Doc]) -> list[list[dict]]:
        """anyner's entity dicts for each doc, with character offsets into ``doc.text``."""
        if not docs:
            return []
        return self.model.batch_predict_entities(
            [doc.text for doc in docs], self.labels, **self.options.as_kwargs()
        )

    def set_annotations(self, docs: Sequence[Doc], predictions: Sequence[list[dict]]) -> None:
        for doc, entities in zip(docs, predictions, strict=True):
            self._annotate(doc, entities)

    def _annotate(self, doc: Doc, entities: list[dict]) -> None:
        spans: list[Span] = []
        scores: list[float] = []
        unaligned: list[dict] = []
        best: dict[tuple, float] = {}
        for entity in entities:
            score = float(entity["score"])
            span = _align(doc, entity)
            if span is None:
                unaligned.append(dict(entity, score=score))
                continue
            spans.append(span)
            scores.append(score)
            key = _score_key(span.start_char, span.end_char, span.label_)
            best[key] = max(score, best.get(key, score))
        doc.user_data.update(best)
        key = self.spans_key
        if unaligned:
            found = ", ".join(
                f"{e.get('text', '')!r} ({e['label']}) at [{e['start']}, {e['end']})" for e in unaligned
            )
            warnings.warn(
                f"spaCy component {self.name!r}: {len(unaligned)} entities cover no spaCy token, so "
                f"they are not spans; they are kept as dicts in doc.spans[{key!r}].attrs['unaligned']: "
                f"{found} (doc text starts {doc.text[:40]!r})",
                stacklevel=2,
            )
        doc.spans[key] = SpanGroup(
            doc, name=key, attrs={"scores": scores, "unaligned": unaligned}, spans=spans
        )
        if self.sets_ents:
            doc.ents = self._merge_ents(list(doc.ents), spans, scores)

    def _merge_ents(self, existing: list[Span], spans: list[Span], scores: list[float]) -> list[Span]:
        # best score first; widening to whole tokens may have made two entities overlap
        chosen: list[Span] = []
        taken: set[int] = set()
        for i in sorted(range(len(spans)), key=lambda i: (-scores[i], spans[i].start, spans[i].end)):
            tokens = set(range(spans[i].start, spans[i].end))
            if not tokens & taken:
                chosen.append(spans[i])
                taken |= tokens
        if self.overwrite_ents:
            kept = [ent for ent in existing if not set(range(ent.start, ent.end)) & taken]
            result = kept + chosen
        else:
            old = {i for ent in existing for i in range(ent.start, ent.end)}
            result = existing + [span for span in chosen if not set(range(span.start, span.end)) & old]
        return sorted(result, key=lambda span: span.start)

    # -- saving ---------------------------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write the settings, for the record; never the weights. The pipeline's config.cfg is
        what ``spacy.load`` reads: it rebuilds this component, model included, from there."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        settings = {
            "anyner_version": __version__,
            "model": self.model_path,
            "labels": self.labels,
            **{k: v for k, v in self.options.as_kwargs().items() if k != "batch_tokens"},
            "spans_key": self.spans_key,
            "overwrite_ents": self.overwrite_ents,
        }
        (folder / "settings.json").write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> AnyNERComponent:
        """Nothing to read: the settings came from config.cfg when the component was built."""
        return self

    def __repr__(self) -> str:
        settings = f"labels={self.labels!r}, threshold={self.threshold}, model={self.model_path!r}"
        return f"{type(self).__name__}({settings})"


def _checked_labels(labels: Any, name: str) -> list[str] | dict[str, str]:
    if labels is None:
        raise InputError(
            f"spaCy component {name!r} needs labels: "
            f'nlp.add_pipe("{FACTORY}", config={{"labels": ["person", "organization"]}})'
        )
    try:
        parse_labels(labels)
    except InputError as exc:
        raise InputError(f"spaCy component {name!r}, setting 'labels': {exc}") from None
    return dict(labels) if isinstance(labels, Mapping) else list(labels)


def _align(doc: Doc, entity: dict) -> Span | None:
    """The entity as a span of whole tokens, or None when its offsets cover no token."""
    try:
        start, end = operator.index(entity["start"]), operator.index(entity["end"])
    except TypeError:
        return None
    if not 0 <= start < end <= len(doc.text):
        return None
    try:
        span = doc.char_span(start, end, label=entity["label"], alignment_mode="expand")
    except (IndexError, ValueError):
        return None
    if span is None or len(span) == 0 or not span.text.strip():
        return None
    return span
