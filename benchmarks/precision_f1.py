"""The F1 cost of each precision: issue 4's check that bf16 and int8 stay within 0.5 F1 of fp32.

Runs the zero-shot dev suite (every data set of ../shared/data/zeroshot_dev, its test split,
each asked for its own labels) with one model, by default the one shipped with anyner, in
fp32 (torch), bf16 (torch autocast) and int8 (onnxruntime, dynamic quantisation); prints a
markdown table of F1 per data set and the average per precision, and exits with status 1 when
bf16 or int8 loses more than --max-loss (0.5) average F1 against fp32.

    python benchmarks/precision_f1.py                      # the full suite: the check itself
    python benchmarks/precision_f1.py --max-examples 20    # a smoke run (not a result)
    python benchmarks/precision_f1.py --json precision_f1.json --markdown precision_f1.md

The int8 model is exported on first use into anyner's cache (see anyner.load).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "zeroshot_dev"
PRECISIONS = ("fp32", "bf16", "int8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="folder of data sets (default: %(default)s)")
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--max-examples", type=int, default=None, help="first N examples per data set")
    ap.add_argument("--precisions", default=",".join(PRECISIONS), help="comma-separated, fp32 first")
    ap.add_argument("--max-loss", type=float, default=0.5, help="allowed average F1 loss against fp32")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = ap.parse_args()
    precisions = [p.strip() for p in args.precisions.split(",")]
    if precisions[0] != "fp32" or not set(precisions) <= set(PRECISIONS):
        ap.error(f"--precisions: fp32 first, then any of {', '.join(PRECISIONS[1:])}")

    import anyner
    from anyner.eval.benchmark import run_benchmark
    from anyner.options import DecodeOptions

    results = {}
    for precision in precisions:
        model = anyner.load(args.model, precision=precision, threads=args.threads)
        tic = time.perf_counter()
        results[precision] = run_benchmark(
            model,
            args.data,
            args.split,
            DecodeOptions(args.threshold),
            max_examples=args.max_examples,
            notify=lambda name, i, n, row, p=precision: _progress(p, name, i, n, row),
        )
        print(f"{precision}: {time.perf_counter() - tic:.0f} s", file=sys.stderr)

    table = to_markdown(results, args)
    losses = {p: round(results["fp32"]["average_f1"] - results[p]["average_f1"], 2) for p in precisions[1:]}
    failed = {p: loss for p, loss in losses.items() if loss > args.max_loss}
    print(table, end="")
    if args.json is not None:
        summary = {
            "model": args.model or "default",
            "date": time.strftime("%Y-%m-%d"),
            "machine": _cpu(),
            "max_loss": args.max_loss,
            "loss": losses,
            "results": results,
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(table, encoding="utf-8")
    if failed:
        print(
            "FAIL: average F1 loss against fp32 above "
            f"{args.max_loss}: " + ", ".join(f"{p} {loss:.2f}" for p, loss in failed.items()),
            file=sys.stderr,
        )
        return 1
    return 0


def to_markdown(results: dict[str, dict], args) -> str:
    precisions = list(results)
    lines = ["| data set | " + " | ".join(precisions) + " |", "|---|" + "---:|" * len(precisions)]
    names = [r["dataset"] for r in results["fp32"]["rows"]]
    for i, name in enumerate(names):
        lines.append(
            f"| {name} | " + " | ".join(f"{results[p]['rows'][i]['f1']:.2f}" for p in precisions) + " |"
        )
    lines.append(
        "| **average** | " + " | ".join(f"{results[p]['average_f1']:.2f}" for p in precisions) + " |"
    )
    fp32 = results["fp32"]["average_f1"]
    lines.append(
        "| loss vs fp32 | " + " | ".join(f"{fp32 - results[p]['average_f1']:.2f}" for p in precisions) + " |"
    )
    note = f"F1 (strict, micro) on the {args.split} splits, threshold {args.threshold}, flat decoding"
    if args.max_examples is not None:
        note += f", first {args.max_examples} examples per data set (a smoke run, not a result)"
    return "\n".join(lines) + "\n\n" + note + "\n"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _progress(precision: str, name: str, index: int, total: int, row: dict | None) -> None:
    if row is not None:
        print(f"{precision} {index + 1}/{total} {name}: F1 {row['f1']:.2f}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
