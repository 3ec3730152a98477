"""The k-shot harness: adapt the shipped model to each zeroshot_dev set from k-shot support sets
drawn from its train split (greedy, Few-NERD style; 5 seeds), score its test split, and report
mean ± std per method and k beside zero-shot; and the same over Few-TK episodes.

    python benchmarks/fewshot.py --data ../shared/data --k 5 --methods prototype lora lora-plain lorahub
    python benchmarks/fewshot.py --episodes 20 --methods prototype lora
    python benchmarks/fewshot.py --table        # the tables, from the results file

Every result is appended to --results as one JSON line, and runs already there are skipped,
so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import anyner
from anyner.data import read_examples
from anyner.data.example import Example
from anyner.eval.evaluate import evaluate
from anyner.eval.kshot import VARIANTS, adapted_f1, sample_support

SETS = ("anem", "fabner", "gum", "harveyner", "re3d", "sec_filings", "wnut17")


def _done(path: Path) -> dict[tuple, dict]:
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["set"], r["k"], r["seed"], r["method"]): r for r in rows}


def _write(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def _test_sample(examples: list[Example], cap: int) -> list[Example]:
    if len(examples) <= cap:
        return examples
    pick = np.random.default_rng(0).choice(len(examples), cap, replace=False)
    return [examples[i] for i in sorted(pick)]


def _forgetting_set(args) -> tuple[list[Example], list[str]] | None:
    """conll2003 test (a fixed sample) for person, organization and location: labels outside
    every zeroshot_dev support set's, scored with each adapter to measure forgetting."""
    if not args.forgetting:
        return None
    examples = read_examples(Path(args.data) / "train" / "conll2003" / "test.jsonl")
    keep = ("person", "organization", "location")
    examples = [Example(ex.words, [s for s in ex.spans if s[2] in keep]) for ex in examples]
    return _test_sample(examples, args.test_cap), list(keep)


def run_sets(args, model, done) -> None:
    root = Path(args.data) / "zeroshot_dev"
    also = _forgetting_set(args)
    if also is not None and ("conll2003", 0, 0, "zero-shot") not in done:
        f1 = 100 * evaluate(model, *also).micro.f1
        _write(
            args.results,
            {"set": "conll2003", "k": 0, "seed": 0, "method": "zero-shot", "f1": f1, "seconds": 0},
        )
    for name in args.sets:
        labels = json.loads((root / name / "meta.json").read_text())["labels"]
        train = read_examples(root / name / "train.jsonl")
        test = _test_sample(read_examples(root / name / "test.jsonl"), args.test_cap)
        if (name, 0, 0, "zero-shot") not in done:
            f1 = 100 * evaluate(model, test, labels).micro.f1
            _write(
                args.results, {"set": name, "k": 0, "seed": 0, "method": "zero-shot", "f1": f1, "seconds": 0}
            )
        for k in args.k:
            for seed in range(args.seeds):
                support = sample_support(train, labels, k, seed)
                for method in args.methods:
                    if (name, k, seed, method) in done:
                        continue
                    got = adapted_f1(model, method, support, test, labels, also=also)
                    row = {
                        "set": name,
                        "k": k,
                        "seed": seed,
                        "method": method,
                        "f1": got[0],
                        "seconds": got[1],
                        "support_texts": len(support),
                    }
                    if also is not None:
                        row["conll2003_f1"] = got[2]
                    _write(args.results, row)


def _mean_cell(values: list[float], sets: int) -> str:
    """The mean over the sets, once every one of them ran: a mean over some would not compare."""
    if not values:
        return ""
    return f"**{statistics.mean(values):.1f}**" if len(values) == sets else "–"


def run_episodes(args, model, done) -> None:
    path = Path(args.data) / "fewshot" / "few_tk" / "episodes" / args.episode_file
    lines = path.read_text().splitlines()[: args.episodes]
    for i, line in enumerate(lines):
        episode = json.loads(line)
        support = [Example(x["tokenized_text"], [tuple(s) for s in x["ner"]]) for x in episode["support"]]
        query = [Example(x["tokenized_text"], [tuple(s) for s in x["ner"]]) for x in episode["query"]]
        labels = [t for t in episode["types"] if any(s[2] == t for ex in support for s in ex.spans)]
        key = f"few_tk/{args.episode_file}"
        if (key, -1, i, "zero-shot") not in done:
            f1 = 100 * evaluate(model, query, labels).micro.f1
            _write(
                args.results, {"set": key, "k": -1, "seed": i, "method": "zero-shot", "f1": f1, "seconds": 0}
            )
        for method in args.methods:
            if (key, -1, i, method) not in done:
                f1, seconds = adapted_f1(model, method, support, query, labels)
                _write(
                    args.results,
                    {"set": key, "k": -1, "seed": i, "method": method, "f1": f1, "seconds": seconds},
                )


def table(path: Path) -> str:
    rows = list(_done(path).values())
    by = defaultdict(list)
    for r in rows:
        by[(r["set"], r["k"], r["method"])].append(r)
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m != "zero-shot", m))
    sets = sorted({r["set"] for r in rows} - {"conll2003"})  # conll2003: the forgetting check, below
    out = []
    for k in sorted({r["k"] for r in rows if r["k"] != 0}):
        out.append(f"\n{'episodes' if k == -1 else f'k = {k}'}\n")
        out.append("| set | " + " | ".join(methods) + " |")
        out.append("|---" * (len(methods) + 1) + "|")
        means = defaultdict(list)
        shown = 0
        for s in sets:
            cells = []
            for m in methods:
                got = by.get((s, 0 if m == "zero-shot" and k != -1 else k, m), [])
                f1s = [r["f1"] for r in got]
                if not f1s:
                    cells.append("")
                    continue
                mean = statistics.mean(f1s)
                means[m].append(mean)
                sd = statistics.pstdev(f1s) if len(f1s) > 1 else 0.0
                cells.append(
                    f"{mean:.1f} ± {sd:.1f} (n={len(f1s)})" if m != "zero-shot" or k == -1 else f"{mean:.1f}"
                )
            if any(cells):
                shown += 1
                out.append(f"| {s} | " + " | ".join(cells) + " |")
        out.append("| **mean** | " + " | ".join(_mean_cell(means[m], shown) for m in methods) + " |")
        secs = {
            m: [r["seconds"] for (s_, k_, m_), rs in by.items() if k_ == k and m_ == m for r in rs]
            for m in methods
        }
        out.append(
            "| adapt seconds (mean) | "
            + " | ".join(
                f"{statistics.mean(v):.1f}" if v and m != "zero-shot" else "" for m, v in secs.items()
            )
            + " |"
        )
    base = by.get(("conll2003", 0, "zero-shot"))
    kept = [r for r in rows if "conll2003_f1" in r]
    if base and kept:
        out.append("\nforgetting: conll2003 test F1 (person, organization, location) with each adapter\n")
        out.append(f"base model: {base[0]['f1']:.1f}\n")
        out.append("| k | method | mean | min | min / base |")
        out.append("|---|---|---|---|---|")
        groups = defaultdict(list)
        for r in kept:
            groups[(r["k"], r["method"])].append(r["conll2003_f1"])
        for (k, m), v in sorted(groups.items()):
            ratio = min(v) / base[0]["f1"]
            out.append(f"| {k} | {m} | {statistics.mean(v):.1f} | {min(v):.1f} | {ratio:.2f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--k", nargs="*", type=int, default=[1, 5, 10])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["prototype", "lora", "lora-plain", "lorahub"],
        choices=sorted(VARIANTS),
    )
    parser.add_argument(
        "--test-cap", type=int, default=200, help="test sentences scored per set (a fixed sample)"
    )
    parser.add_argument(
        "--episodes", type=int, default=0, help="Few-TK episodes to run (0: the data sets instead)"
    )
    parser.add_argument("--episode-file", default="inter/dev_5_1.jsonl")
    parser.add_argument(
        "--forgetting",
        action="store_true",
        help="also score conll2003 test (person, organization, location) with each adapter",
    )
    parser.add_argument("--results", type=Path, default=Path("fewshot_results.jsonl"))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (two 1-thread runs beat one 2-thread run)"
    )
    parser.add_argument("--table", action="store_true", help="print the tables of --results and stop")
    args = parser.parse_args()
    if args.table:
        print(table(args.results))
        return
    model = anyner.load(precision="fp32", runtime="torch", threads=args.threads)
    done = _done(args.results)
    tic = time.perf_counter()
    if args.episodes:
        run_episodes(args, model, done)
    else:
        run_sets(args, model, done)
    print(f"done in {time.perf_counter() - tic:.0f} s")
    print(table(args.results))


if __name__ == "__main__":
    main()
