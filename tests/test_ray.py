"""anyner.integrations.ray: the same entities as one process, from a pool of Ray actors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pa = pytest.importorskip("pyarrow")

from helpers import routed_model  # noqa: E402

import anyner  # noqa: E402
from anyner.errors import InputError  # noqa: E402
from anyner.integrations import ray as anyner_ray  # noqa: E402

LABELS = ["person", "organization", "date"]
WORDS = "bill gates founded microsoft in albuquerque on april new york city is big the".split()


def texts(n: int) -> list[str]:
    """Short texts from the tiny vocabulary (fast to predict), one empty."""
    return [" ".join(WORDS[(i * 5 + k * 7) % len(WORDS)] for k in range(i % 9)) for i in range(n)]


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ray") / "model"
    span_model.save(folder)
    return folder


def _descendants() -> set[int]:
    """Live processes below this one (Ray's GCS, raylet, workers, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
        if entry.isdigit() and fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance on two CPUs, shut down after the module with nothing left running."""
    if ray.is_initialized():
        pytest.skip("Ray is already running in this process")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    started: set[int] = set()
    try:
        yield started  # tests add the processes they saw
    finally:
        started |= _descendants()
        ray.shutdown()
        deadline = time.monotonic() + 60
        while (left := started & _descendants()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"Ray left processes behind: {sorted(left)}"


def test_matches_single_process(local_ray, model_dir):
    corpus = texts(2000)
    rows = [{"id": i, "text": t, "source": f"doc-{i % 3}"} for i, t in enumerate(corpus)]
    dataset = ray.data.from_items(rows)
    ds = anyner_ray.extract(
        dataset, LABELS, model=str(model_dir), concurrency=2, batch_size=250, encoder_batch_size=32
    )
    out = ds.take_all()
    local_ray |= _descendants()

    want = anyner.load(model_dir).batch_predict_entities(corpus, LABELS, threshold=0.5, batch_size=32)
    assert sum(map(len, want)) > 500, "the tiny model should find entities in these texts"
    got = sorted(out, key=lambda r: r["id"])
    columns = ("id", "text", "source")
    assert [[r[c] for c in columns] for r in got] == [[r[c] for c in columns] for r in rows]
    for row, expected in zip(got, want, strict=True):
        entities = list(row["entities"])
        assert [{k: e[k] for k in ("start", "end", "text", "label")} for e in entities] == [
            {k: e[k] for k in ("start", "end", "text", "label")} for e in expected
        ], row["text"]
        for e, f in zip(entities, expected, strict=True):
            assert e["score"] == pytest.approx(f["score"], abs=1e-6)


def test_user_code_error_reaches_the_caller(local_ray, model_dir):
    dataset = ray.data.from_items([{"body": "bill gates"}])
    with pytest.raises(Exception, match="no 'text' column") as info:
        anyner_ray.extract(dataset, LABELS, model=str(model_dir), concurrency=1).take_all()
    assert isinstance(info.value, InputError) or "InputError" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"labels": []}, "labels is empty"),
        ({"labels": "person"}, "list of strings"),
        ({"threshold": 2.0}, "threshold"),
        ({"batch_size": 0}, "batch_size"),
        ({"encoder_batch_size": 0}, "encoder_batch_size"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": (3, 2)}, "min <= max"),
        ({"num_cpus": 0}, "num_cpus"),
        ({"text_column": "entities"}, "must differ: 'entities' twice"),
        ({"adapter_column": "text"}, "must differ: 'text' twice"),
    ],
)
def test_bad_arguments_fail_on_the_driver(kwargs, fragment):
    """Checked before the dataset is touched: no cluster needed, nothing scheduled."""
    args = {"labels": LABELS, **kwargs}
    with pytest.raises(InputError, match=fragment):
        anyner_ray.extract(object(), args.pop("labels"), **args)


# -- the actor class, in this process ------------------------------------------------------


@pytest.fixture
def extractor(model_dir, monkeypatch):
    loads = []
    real_load = anyner.load
    monkeypatch.setattr(anyner, "load", lambda path, **kw: loads.append(path) or real_load(path, **kw))
    settings = anyner_ray.Settings(LABELS)
    return anyner_ray.Extractor(str(model_dir), settings, threads=1), loads


def test_actor_loads_the_model_once(extractor):
    actor, loads = extractor
    for lo in range(0, 30, 10):
        batch = pa.table({"text": texts(30)[lo : lo + 10]})
        assert actor(batch).column_names == ["text", "entities"]
    assert len(loads) == 1


def test_empty_results_keep_the_schema(extractor):
    actor, _ = extractor
    out = actor(pa.table({"text": ["", "  "], "id": [1, 2]}))  # no words, so no entities
    assert out.schema.field("entities").type == anyner_ray.ENTITIES
    assert out.column("entities").to_pylist() == [[], []]


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"body": ["x"]}, "no 'text' column"),
        ({"text": ["x"], "entities": [1]}, "already has a 'entities' column; pass output_column="),
        ({"text": [1, 2]}, "not strings"),
        ({"text": ["x", None, None]}, "2 rows have no text"),
    ],
)
def test_bad_batches(extractor, table, fragment):
    actor, _ = extractor
    with pytest.raises(InputError, match=fragment):
        actor(pa.table(table))


def test_a_routed_model_names_each_rows_adapter(tiny_backbone, tmp_path):
    """With adapter_column, each row says which adapter the router sent it to (null: the base),
    and its entities are those that adapter finds."""
    model = routed_model(tiny_backbone)
    folder = tmp_path / "m"
    model.save(folder)
    for name in ("en", "de"):
        model.save_adapter(name, folder / "adapters" / name)
    model.router.save(folder / "router")
    rows = ["bill gates founded microsoft", "april in new york city", ""]
    settings = anyner_ray.Settings(LABELS, adapter_column="adapter")
    actor = anyner_ray.Extractor(str(folder), settings, threads=1)
    out = actor(pa.table({"text": rows, "id": [1, 2, 3]}))
    assert out.column_names == ["text", "id", "entities", "adapter"]
    assert out.column("adapter").to_pylist() == ["en", "de", None]
    want = model.batch_predict_entities(rows, LABELS, adapter=["en", "de", None])
    assert out.column("entities").to_pylist() == want
    with pytest.raises(InputError, match="already has a 'adapter' column; pass adapter_column="):
        actor(pa.table({"text": ["x"], "adapter": ["y"]}))
