"""Entities for corpora beyond one machine, on Ray Data.

    import ray
    from anyner.integrations.ray import extract

    ds = ray.data.read_json("/shared/corpus/")               # rows with a "text" column
    ds = extract(ds, ["person", "organization"], model="/shared/models/anyner", concurrency=8)
    ds.write_parquet("/shared/entities/")

``extract`` adds a column (default ``"entities"``) holding, for each row, the list of
``{"start", "end", "text", "label", "score"}`` that ``batch_predict_entities`` returns for the
row's text; every other column passes through. The work runs in ``Dataset.map_batches`` on a
pool of actors; each actor loads the model once, when it starts, and then serves batch after
batch. The model is a folder every worker can read (shared storage, or the same path on each
node); ``None`` is the model shipped with anyner. How to run it on a cluster: docs/ray.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import ray.data

from ..errors import InputError
from ..options import DecodeOptions
from ..text.labels import parse_labels

# A fixed type, so that a batch whose texts hold no entity still has the same schema
ENTITIES = pa.list_(
    pa.struct(
        [
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("label", pa.string()),
            ("score", pa.float64()),
        ]
    )
)


@dataclass(frozen=True)
class Settings:
    """What every actor needs besides the model; checked on the driver, before any work starts."""

    labels: Sequence[str] | Mapping[str, str]
    threshold: float = 0.5
    flat_ner: bool = True
    multi_label: bool = False
    encoder_batch_size: int = 8  # encoder passes per forward call, as in batch_predict_entities
    text_column: str = "text"
    output_column: str = "entities"
    adapter_column: str | None = None  # a column naming the adapter each row ran with

    def __post_init__(self) -> None:
        parse_labels(self.labels)
        _check_positive("encoder_batch_size", self.encoder_batch_size)  # named as the caller named it
        self.options  # noqa: B018  (checks the threshold and modes, on the driver)
        columns = [self.text_column, self.output_column, self.adapter_column]
        for i, name in enumerate(columns):
            if name is not None and name in columns[:i]:
                raise InputError(f"text_column, output_column and adapter_column must differ: {name!r} twice")

    @property
    def options(self) -> DecodeOptions:
        return DecodeOptions(self.threshold, self.flat_ner, self.multi_label, self.encoder_batch_size)


class Extractor:
    """The callable class ``map_batches`` runs: one instance per actor, so one model load each."""

    def __init__(self, model: str | Path | None, settings: Settings, threads: int):
        import anyner

        self.ner = anyner.load(model, threads=threads)  # the CPUs this actor reserved, no more
        self.settings = settings

    def __call__(self, batch: pa.Table) -> pa.Table:
        s = self.settings
        texts = _texts(batch, s)
        if s.adapter_column is None:
            found = self.ner.batch_predict_entities(texts, s.labels, **s.options.as_kwargs())
            return batch.append_column(s.output_column, pa.array(found, type=ENTITIES))
        chosen = self.ner.adapters_for(texts)  # the model's own choice: "auto" routes each row
        found = self.ner.batch_predict_entities(texts, s.labels, **s.options.as_kwargs(), adapter=chosen)
        batch = batch.append_column(s.output_column, pa.array(found, type=ENTITIES))
        return batch.append_column(s.adapter_column, pa.array(chosen, type=pa.string()))


def extract(
    dataset: ray.data.Dataset,
    labels: Sequence[str] | Mapping[str, str],
    *,
    model: str | Path | None = None,
    threshold: float = 0.5,
    flat_ner: bool = True,
    multi_label: bool = False,
    batch_size: int = 256,
    encoder_batch_size: int = 8,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus: float = 1,
    text_column: str = "text",
    output_column: str = "entities",
    adapter_column: str | None = None,
) -> ray.data.Dataset:
    """``dataset`` with an ``output_column`` of entities found in each row's ``text_column``.

    - ``batch_size``: rows each actor call gets (Ray's ``map_batches`` batch size).
    - ``encoder_batch_size``: encoder passes per forward call inside that call.
    - ``concurrency``: actors in the pool: ``n``, or ``(min, max)`` to autoscale; ``None``
      autoscales from one up to what the cluster's free CPUs allow. Leave CPUs for the tasks
      that read and write: with ``concurrency * num_cpus`` equal to all CPUs, reads never start.
    - ``num_cpus``: CPUs each actor reserves; its torch threads follow it.
    - ``adapter_column``: also add a column naming the adapter each row ran with (a model
      with a router, such as ``"multilingual"``, routes each row by itself; null: the base).

    Lazy, like every Ray Data transform: nothing runs until the result is consumed
    (``write_parquet``, ``iter_rows``, ``take_all``, ...). Rows come out in no fixed order
    unless the ``DataContext`` asks Ray to preserve it; keep an id column to join on.
    """
    settings = Settings(
        labels,
        threshold,
        flat_ner,
        multi_label,
        encoder_batch_size,
        text_column=text_column,
        output_column=output_column,
        adapter_column=adapter_column,
    )
    _check_positive("batch_size", batch_size)
    if not isinstance(num_cpus, int | float) or isinstance(num_cpus, bool) or num_cpus <= 0:
        raise InputError(f"num_cpus must be a positive number, got {num_cpus!r}")
    pool = _pool(concurrency)
    return dataset.map_batches(
        Extractor,
        fn_constructor_kwargs={"model": model, "settings": settings, "threads": max(1, int(num_cpus))},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=pool,
        num_cpus=num_cpus,
    )


def _pool(concurrency: int | tuple[int, int] | None) -> ray.data.ActorPoolStrategy:
    if concurrency is None:
        return ray.data.ActorPoolStrategy()
    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        low, high = concurrency
        _check_positive("concurrency", low)
        _check_positive("concurrency", high)
        if low > high:
            raise InputError(f"concurrency (min, max) needs min <= max, got {concurrency}")
        return ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    _check_positive("concurrency", concurrency)
    return ray.data.ActorPoolStrategy(min_size=concurrency, max_size=concurrency)


def _check_positive(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")


def _texts(batch: pa.Table, s: Settings) -> list[str]:
    """The batch's texts; a missing column or a row without a text is an error, never skipped."""
    if s.text_column not in batch.column_names:
        raise InputError(
            f"the dataset has no {s.text_column!r} column (it has {batch.column_names}); "
            "pass text_column= to name the one holding the texts"
        )
    for kind, name in (("output_column", s.output_column), ("adapter_column", s.adapter_column)):
        if name is not None and name in batch.column_names:
            raise InputError(f"the dataset already has a {name!r} column; pass {kind}= to name another")
    column = batch.column(s.text_column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise InputError(f"column {s.text_column!r} holds {column.type}, not strings")
    if column.null_count:
        raise InputError(
            f"{column.null_count} rows have no text (null in {s.text_column!r}); drop or fill them first"
        )
    return column.to_pylist()
