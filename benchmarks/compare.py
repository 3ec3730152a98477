"""anyner side by side with the public gliner library, on one checkpoint, in one command:

    python benchmarks/compare.py [--quick] [--out docs/performance-data.json]

gliner 0.2.29 runs in its own virtual environment (made on first use, under
~/.cache/anyner-bench) and builds the checkpoint: a span model (markerV0, max_width 12) on
all-MiniLM-L6-v2, heads seeded and untrained. anyner loads the same folder. Every path (gliner, anyner auto
(the default ``anyner.load()`` path) / fp32 / bf16 / onnx fp32 / onnx int8) runs each input kind
in a fresh process, with the same texts, labels, threshold and thread count, so each peak RSS is
its own. The paths take turns on one input kind before the next kind starts, so gliner and
anyner run close in time: on a shared machine the ratios hold better than the absolute rates.

Prints the markdown, writes the JSON (--out) and the "Side-by-side with gliner" section of
docs/performance.md (full runs; --doc to choose the file, --no-doc to skip).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import bench_corpus as corpus_mod
import bench_report as report
import gliner_env
from bench_corpus import CorpusSpec, word_count, word_prefix

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class PathSpec:
    key: str
    name: str
    engine: str  # "gliner" or "anyner"
    precision: str = "fp32"
    runtime: str | None = "torch"  # None: what precision="auto" picks

    @property
    def peak_dtype(self) -> str:
        """The matmul ceiling this path is held against (int8 against fp32's: see the docs)."""
        return "bf16" if self.precision == "bf16" else "fp32"


PATHS = {
    p.key: p
    for p in (
        PathSpec("gliner", "gliner", "gliner"),
        PathSpec("auto", "anyner auto", "anyner", "auto", None),
        PathSpec("fp32", "anyner fp32", "anyner"),
        PathSpec("bf16", "anyner bf16", "anyner", "bf16"),
        PathSpec("onnx-fp32", "anyner onnx fp32", "anyner", "fp32", "onnx"),
        PathSpec("onnx-int8", "anyner onnx int8", "anyner", "int8", "onnx"),
    )
}
RUNNERS = {"gliner": HERE / "gliner_runner.py", "anyner": HERE / "anyner_runner.py"}


@dataclass(frozen=True)
class Plan:
    corpus: CorpusSpec
    label_counts: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    long_batch_sizes: tuple[int, ...]  # the long document's (a 512-token window fills a call)
    seconds: float  # timed seconds per configuration, at most (short sentences, paragraphs)
    scaling_words: tuple[int, ...]  # shorter prefixes of the long document, timed for linearity
    warmup_calls: int = 2
    warmup_words: int = 2_000  # the long document's warm-up: a prefix this long
    threads: int = 2
    threshold: float | None = None  # None: calibrated on the checkpoint (see calibrate)
    entities_per_text: float = 2.0  # what the calibrated threshold aims at on short sentences


FULL = Plan(CorpusSpec(short_texts=1024), (4, 16, 64), (1, 8), (8,), 5.0, (25_000, 50_000))
QUICK = Plan(
    CorpusSpec(short_texts=16, paragraphs=4, long_words=4_000),
    (4, 64),
    (1, 8),
    (1, 8),
    0.3,
    (1_000, 2_000),
    warmup_calls=1,
    warmup_words=200,
)


@dataclass(frozen=True)
class TextSet:
    """The texts one (input, label count) runs on, and whether gliner reads them whole."""

    key: str
    input: str
    labels: int
    texts: list[str]
    flops: list[float]  # encoder FLOPs per text
    with_gliner: bool
    scaling_only: bool = False  # a prefix of the long document, timed only for linearity
    note: str = ""


# -- planning ---------------------------------------------------------------------------
def pass_lengths(model, text: str, labels: list[str]) -> list[int]:
    """Token counts of the encoder passes anyner makes for this text (prompt included)."""
    from anyner.text.labels import parse_labels
    from anyner.text.words import split_words

    words = split_words(text)
    if not len(words):
        return []
    return [len(p.inputs.input_ids) for p in model.pipeline.plan(0, words, parse_labels(labels))]


def calibrate(model, texts: list[str], plan: Plan) -> float:
    """One threshold for every path and configuration: about ``entities_per_text`` entities per
    short sentence with the fewest labels (anyner fp32 and gliner find the same ones)."""
    found = model.batch_predict_entities(texts, corpus_mod.labels(plan.label_counts[0]), threshold=0.0)
    return report.calibrated_threshold(found, plan.entities_per_text)


def encoder_dims(model) -> dict[str, int]:
    cfg = model.model.encoder.model.config
    return {"layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size, "ffn": cfg.intermediate_size}


def text_sets(model, corpus: corpus_mod.Corpus, plan: Plan) -> list[TextSet]:
    dims = tuple(encoder_dims(model).values())

    def flops(passes: list[list[int]]) -> list[float]:
        return [report.encoder_flops(p, *dims) for p in passes]

    sets = []
    for n in plan.label_counts:
        labels = corpus_mod.labels(n)
        for kind, texts in (("short", corpus.short), ("paragraphs", corpus.paragraphs)):
            passes = [pass_lengths(model, t, labels) for t in texts]
            # one encoder pass = gliner reads the text whole (<= 384 words, <= 512 sub-tokens)
            whole = [i for i, p in enumerate(passes) if len(p) == 1]
            cut = len(texts) - len(whole)
            compared = 2 * len(whole) >= len(texts)
            if compared:  # on the texts gliner reads whole
                note = f"{cut} of {len(texts)} left out: gliner would truncate them" if cut else ""
                texts, passes = [texts[i] for i in whole], [passes[i] for i in whole]
            else:
                note = f"anyner only: gliner would truncate {cut} of {len(texts)} texts"
            sets.append(TextSet(f"{kind}/{n}", kind, n, texts, flops(passes), compared, note=note))
        sizes = (*plan.scaling_words, plan.corpus.long_words) if n == plan.label_counts[0] else ()
        for words in sizes or (plan.corpus.long_words,):
            doc = word_prefix(corpus.long, words)
            passes = [pass_lengths(model, doc, labels)]
            prefix = words != plan.corpus.long_words
            sets.append(TextSet(f"long/{n}/{words}", "long", n, [doc], flops(passes), False, prefix))
    return sets


def make_job(path: PathSpec, kind: str, sets: list[TextSet], plan: Plan, checkpoint: Path) -> dict:
    runs, texts = [], {}
    for s in sets:
        if s.input != kind or (path.engine == "gliner" and not s.with_gliner):
            continue
        texts[s.key] = s.texts
        batches = plan.long_batch_sizes if kind == "long" else plan.batch_sizes
        for b in (max(batches),) if s.scaling_only else batches:
            if kind == "long":
                warmup = [[word_prefix(s.texts[0], plan.warmup_words)]]
            else:
                warmup = [s.texts[i * b : (i + 1) * b] for i in range(plan.warmup_calls)]
            runs.append(
                {
                    "id": f"{s.key}/b{b}",
                    "texts": s.key,
                    "labels": corpus_mod.labels(s.labels),
                    "batch_size": b,
                    "max_seconds": plan.seconds,
                    "warmup": [w for w in warmup if w],
                    "keep_entities": s.with_gliner,
                }
            )
    return {
        "path": {"name": path.name, "precision": path.precision, "runtime": path.runtime},
        "checkpoint": str(checkpoint),
        "threads": plan.threads,
        "threshold": plan.threshold,
        "texts": texts,
        "runs": runs,
    }


# -- running ----------------------------------------------------------------------------
def worker_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    # tokenizers' own thread pool would go past the thread budget
    env.update(TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def run_worker(python: Path, runner: Path, job: dict, work: Path, tag: str, env: dict) -> dict:
    job_file, result_file, log_file = (work / f"{tag}.{ext}" for ext in ("job.json", "result.json", "log"))
    job_file.write_text(json.dumps(job), encoding="utf-8")
    with log_file.open("w", encoding="utf-8") as log:
        cmd = [str(python), str(runner), str(job_file), str(result_file)]
        done = subprocess.run(cmd, stdout=log, stderr=log, env=env, cwd=ROOT)
    if done.returncode != 0:
        tail = log_file.read_text(encoding="utf-8").strip().splitlines()[-4:]
        return {"error": f"exit {done.returncode}: " + " | ".join(tail) + f" (log: {log_file})"}
    return json.loads(result_file.read_text(encoding="utf-8"))


def matmul_peak(threads: int, seconds: float, env: dict) -> dict[str, float]:
    cmd = [sys.executable, str(HERE / "matmul_peak.py"), str(threads), str(seconds)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout)


def model_folder(path: PathSpec, planner, checkpoint: Path, work: Path, console) -> Path:
    """What the path loads: the checkpoint, or for onnxruntime anyner's ONNX export of it, made
    here once so the workers run it as deployed (onnxruntime, tokenizers, numpy; no torch)."""
    if path.runtime != "onnx":
        return checkpoint
    console.print(f"exporting the checkpoint to ONNX ({path.precision})")
    return planner.export_onnx(work / f"onnx-{path.precision}", path.precision)


def run_jobs(jobs: list, python: Path, work: Path, env: dict, console) -> dict:
    """Each job in its own process: {(path key, input kind): result}."""
    from rich.progress import Progress

    results = {}
    with Progress(console=console) as progress:
        task = progress.add_task("benchmark", total=len(jobs))
        for path, kind, job in jobs:
            progress.update(task, description=f"{path.name}: {kind}")
            interpreter = python if path.engine == "gliner" else Path(sys.executable)
            tag = f"{path.key}-{kind}"
            results[(path.key, kind)] = run_worker(interpreter, RUNNERS[path.engine], job, work, tag, env)
            progress.advance(task)
    return results


# -- results ----------------------------------------------------------------------------
def collect(results: dict, sets: list[TextSet], plan: Plan, peak: dict[str, float]):
    """(rows, scaling, failures) from the workers' results, keyed (path key, input kind)."""
    by_key = {s.key: s for s in sets}
    rows, entities, scaling, failures = [], {}, [], []
    for (key, kind), result in results.items():
        path = PATHS[key]
        if "error" in result:
            failures.append(f"{path.name}, {kind}: {result['error']}")
            continue
        times = {}
        for run in result["runs"]:
            s, n, b = by_key[run["texts"]], run["texts_used"], run["batch_size"]
            words = sum(word_count(t) for t in s.texts[:n])
            if s.input == "long" and s.labels == plan.label_counts[0] and b == max(plan.long_batch_sizes):
                times[words] = sum(run["call_seconds"])
            if s.scaling_only:
                continue
            m = report.Measurement(
                s.input,
                s.labels,
                b,
                path.name,
                n,
                words,
                run["call_seconds"],
                sum(s.flops[:n]),
                result["peak_rss_mb"],
            )
            rows.append(report.summarise(m, peak[path.peak_dtype]))
            if run["entities"] is not None:
                entities[(path.name, s.input, s.labels, b)] = run["entities"]
        if len(times) > 1:
            scaling.append(report.Scaling(path.name, times, result["peak_rss_mb"]))
    return against_gliner(rows, entities), scaling, failures


def against_gliner(rows: list[report.Row], entities: dict) -> list[report.Row]:
    """Each anyner row with its throughput ratio to gliner's and whether the entities agree with
    gliner's and with anyner fp32's (torch)."""
    ref_name, fp32_name = PATHS["gliner"].name, PATHS["fp32"].name
    gliner = {(r.input, r.labels, r.batch): r for r in rows if r.path == ref_name}
    out = []
    for r in rows:
        config = (r.input, r.labels, r.batch)
        ref = gliner.get(config)
        if ref is not None and r.path != ref_name:
            ours, theirs = entities.get((r.path, *config)), entities.get((ref_name, *config))
            agreement = report.compare_entities(ours, theirs).describe() if ours and theirs else None
            r = replace(r, vs_gliner=r.texts_per_s / ref.texts_per_s, entities_vs_gliner=agreement)
        ours, fp32 = entities.get((r.path, *config)), entities.get((fp32_name, *config))
        if r.path not in (ref_name, fp32_name) and ours and fp32:
            r = replace(r, entities_vs_fp32=report.compare_entities(ours, fp32).describe())
        out.append(r)
    order = {p.name: i for i, p in enumerate(PATHS.values())}
    kinds = ("short", "paragraphs", "long")
    return sorted(out, key=lambda r: (kinds.index(r.input), r.labels, r.batch, order[r.path]))


def machine() -> dict:
    from anyner.runtime.cpu import FEATURES, cpu_info

    info = cpu_info()
    return {
        "cpu": info.model if info.model != "unknown" else platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "cpu_features": info.feature_names(),
        "cpu_features_absent": [name for flag, name in FEATURES.items() if flag not in info.flags],
        "python": platform.python_version(),
    }


def auto_picks(results: dict) -> str | None:
    """What precision="auto" ran on, as the auto path's worker reported it."""
    picks = {r.get("picked") for (key, _), r in results.items() if key == "auto" and "error" not in r}
    return ", ".join(sorted(p for p in picks if p)) or None


def versions(results: dict) -> dict[str, str]:
    out = {}
    for (key, _), result in results.items():
        for name, version in result.get("versions", {}).items():
            out[f"{name} (gliner's venv)" if key == "gliner" and name != "gliner" else name] = version
    return dict(sorted(out.items()))


# -- main -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny corpus and budgets: a smoke run (< 3 min)")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    ap.add_argument(
        "--doc",
        type=Path,
        help="markdown file whose compare section is rewritten "
        "(default: docs/performance.md on full runs, none with --quick)",
    )
    ap.add_argument("--no-doc", action="store_true", help="write no markdown file")
    ap.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, from {', '.join(PATHS)}")
    ap.add_argument("--inputs", default="short,paragraphs,long", help="comma-separated input kinds")
    ap.add_argument("--seconds", type=float, help="timed seconds per configuration (short, paragraphs)")
    ap.add_argument(
        "--long-batch-sizes", help="batch sizes for the long document, comma-separated (default 8)"
    )
    ap.add_argument("--threads", type=int, help="threads for every path (default 2)")
    ap.add_argument(
        "--threshold", type=float, help="entity threshold (default: calibrated on the checkpoint)"
    )
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    ap.add_argument("--gliner-venv", type=Path, default=gliner_env.CACHE / "gliner-venv")
    ap.add_argument("--checkpoint", type=Path, help="gliner checkpoint folder (made there if missing)")
    ap.add_argument("--keep-work", type=Path, help="keep the jobs, results and logs in this folder")
    args = ap.parse_args(argv)
    unknown = set(args.paths.split(",")) - set(PATHS)
    if unknown:
        ap.error(f"unknown path(s) {', '.join(sorted(unknown))}; choose from {', '.join(PATHS)}")
    kinds = set(args.inputs.split(","))
    if kinds - {"short", "paragraphs", "long"}:
        ap.error(f"unknown input kind(s) {', '.join(sorted(kinds - {'short', 'paragraphs', 'long'}))}")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    return replace(
        plan,
        seconds=args.seconds or plan.seconds,
        threads=args.threads or plan.threads,
        threshold=args.threshold if args.threshold is not None else plan.threshold,
        long_batch_sizes=tuple(int(b) for b in args.long_batch_sizes.split(","))
        if args.long_batch_sizes
        else plan.long_batch_sizes,
    )


def build_data(
    command: str, quick: bool, plan: Plan, threshold_note: str, planner, sets, peak, results
) -> dict:
    """Everything the run found, as JSON: the markdown is rendered from this alone."""
    rows, scaling, failures = collect(results, sets, plan, peak)
    return {
        "date": datetime.date.today().isoformat(),
        "command": command,
        "quick": quick,
        "machine": machine(),
        "versions": versions(results),
        "auto_picks": auto_picks(results),
        "threads": plan.threads,
        "threshold": plan.threshold,
        "threshold_note": threshold_note,
        "plan": asdict(plan),
        "checkpoint": f"gliner {gliner_env.GLINER_VERSION} span model (markerV0, max_width 12) on "
        "all-MiniLM-L6-v2, heads seeded (seed 0) and untrained",
        "encoder": encoder_dims(planner),
        "matmul_peak_gflops": peak,
        "reference_peak_gflops": report.REFERENCE_PEAK,
        "memory_limit_mb": report.MEMORY_LIMIT_MB,
        "text_sets": [
            {
                "key": s.key,
                "input": s.input,
                "labels": s.labels,
                "texts": len(s.texts),
                "words": sum(map(word_count, s.texts)),
                "with_gliner": s.with_gliner,
                "note": s.note,
            }
            for s in sets
        ],
        "rows": [r.to_dict() for r in rows],
        "scaling": [s.to_dict() for s in scaling],
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    import anyner
    from anyner.backbones import resolve_backbone

    args = parse_args(argv)
    console = Console(stderr=True)
    plan = make_plan(args)
    env = worker_env(plan.threads)
    paths = [PATHS[k] for k in args.paths.split(",")]
    kinds = [k for k in ("short", "paragraphs", "long") if k in args.inputs.split(",")]

    python = gliner_env.ensure_venv(args.gliner_venv, log=console.print)
    folder = args.checkpoint or gliner_env.CACHE / "gliner-minilm-span-seed0"
    console.print(f"checkpoint: {folder}")
    backbone = Path(resolve_backbone("all-MiniLM-L6-v2"))
    checkpoint = gliner_env.ensure_checkpoint(python, folder, backbone, 0, env)
    corpus = corpus_mod.build_corpus(corpus_mod.read_sentences(args.data), plan.corpus)
    planner = anyner.load(checkpoint)
    threshold_note = "given with --threshold"
    if plan.threshold is None:
        plan = replace(plan, threshold=calibrate(planner, corpus.short[:64], plan))
        threshold_note = (
            f"calibrated to about {plan.entities_per_text:g} entities per short sentence with "
            f"{plan.label_counts[0]} labels: untrained heads score every span near 0.5"
        )
    sets = text_sets(planner, corpus, plan)
    peak = matmul_peak(plan.threads, 1.0 if args.quick else 3.0, env)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep_work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        models = {p.key: model_folder(p, planner, checkpoint, work, console) for p in paths}
        # kind by kind, every path in turn: gliner and anyner run minutes apart, not tens of them
        jobs = [(p, kind, make_job(p, kind, sets, plan, models[p.key])) for kind in kinds for p in paths]
        results = run_jobs([j for j in jobs if j[2]["runs"]], python, work, env, console)

    command = "python benchmarks/compare.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    data = build_data(command.strip(), args.quick, plan, threshold_note, planner, sets, peak, results)
    section = report.render_section(data)
    print(section)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    doc = None if args.no_doc else args.doc or (None if args.quick else ROOT / "docs" / "performance.md")
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        old = doc.read_text(encoding="utf-8") if doc.is_file() else ""
        doc.write_text(report.replace_section(old, section), encoding="utf-8")
        console.print(f"wrote the section in {doc}")
    for line in data["failures"]:
        console.print(f"[red]failed[/red] {line}")
    return 1 if data["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
