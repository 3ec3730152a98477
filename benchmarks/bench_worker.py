"""The timed loop both runners share (gliner's in its own venv, anyner's here): standard library
only, so it imports in either environment.

A job (JSON) names texts and runs; each run is warmed up, then timed call by call (one call =
``batch_size`` texts) until its texts or its seconds run out. The result (JSON) has per-call
seconds, the entities when asked, and the process's peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# predict(texts, labels, threshold, batch_size) -> entities per text, as dicts
Predict = Callable[[Sequence[str], list[str], float, int], list[list[dict]]]


def timed_run(predict: Predict, texts: list[str], run: dict, threshold: float) -> dict:
    labels, b = run["labels"], run["batch_size"]
    for chunk in run["warmup"]:
        predict(chunk, labels, threshold, b)
    seconds: list[float] = []
    entities: list[list[dict]] = []
    used = 0
    while used < len(texts) and (not seconds or sum(seconds) < run["max_seconds"]):
        chunk = texts[used : used + b]
        start = time.perf_counter()
        out = predict(chunk, labels, threshold, b)
        seconds.append(time.perf_counter() - start)
        used += len(chunk)
        entities.extend(out)
    return {
        "id": run["id"],
        "texts": run["texts"],
        "batch_size": b,
        "texts_used": used,
        "call_seconds": seconds,
        "entity_count": sum(map(len, entities)),
        "entities": [[_plain(e) for e in ents] for ents in entities] if run["keep_entities"] else None,
    }


def _plain(e: dict) -> dict:
    return {"start": int(e["start"]), "end": int(e["end"]), "label": e["label"], "score": float(e["score"])}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB. Linux's ru_maxrss would do, but it starts a
    child at its parent's size (kept across fork and exec); VmHWM counts this program alone."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kib / 1024


def main(load: Callable[[dict], tuple]) -> None:
    """``runner.py JOB.json RESULT.json``: ``load(job)`` gives (predict, versions) or (predict,
    versions, extra), extra being more keys for the result (what the path ran on)."""
    job_path, result_path = map(Path, sys.argv[1:3])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    predict, versions, *extra = load(job)
    load_seconds = time.perf_counter() - start
    runs = []
    for run in job["runs"]:
        runs.append(timed_run(predict, job["texts"][run["texts"]], run, job["threshold"]))
        r = runs[-1]
        print(
            f"{job['path']['name']} {run['id']}: {r['texts_used']} texts, {sum(r['call_seconds']):.1f} s",
            file=sys.stderr,
            flush=True,
        )
    result = {"versions": versions, "load_seconds": load_seconds, "peak_rss_mb": peak_rss_mb(), "runs": runs}
    for more in extra:
        result.update(more)
    result_path.write_text(json.dumps(result), encoding="utf-8")
