"""Evaluate the multilingual model (issue 12): per-language strict F1 on the dev splits for the
shared base alone, routed adapters and the oracle (each text given its own language's
adapter); routing accuracy per language on dev sentences of 5 words or more and on
code-switched pairs; the time routing adds.

    python benchmarks/multilingual_eval.py --data ../shared/data --per-set 500 \
        --results benchmarks/results/multilingual.json

Dev splits only (the test splits are kept apart). Each set is a fixed sample (seed 0) of
``--per-set`` sentences, so a run is comparable with the next.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from train_language_adapters import AFRICAN, sentences, text_of

import anyner
from anyner.eval.evaluate import evaluate
from anyner.options import DecodeOptions

# dev set -> the adapter of its language (None: a language without an adapter)
DEV = {
    "wikiann_de": "de",
    "wikiann_en": "en",
    "wikiann_es": "es",
    "wikiann_nl": "nl",
    "wikiann_pl": "pl",
    "wikiann_ru": "ru",
    "uner_pt": "pt",
    "uner_zh_gsd": "zh",
    "conll2002_es": "es",
    "conll2002_nl": "nl",
    "conll2003_de": "de",
    "uner_en_ewt": "en",
    "uner_da": None,
    "uner_sv": None,
    "masakhaner_pcm": "en",  # Nigerian Pidgin, English-based: the English adapter (see AFRICAN)
} | {f"masakhaner_{name}": lang for lang, name in AFRICAN.items()}
MEANS = {  # the averages reported
    "wikiann": ["wikiann_de", "wikiann_en", "wikiann_es", "wikiann_nl", "wikiann_pl", "wikiann_ru"],
    "masakhaner": [f"masakhaner_{name}" for name in AFRICAN.values()],
}
LABELS = ["location", "organization", "person"]  # the prompt of the overhead measurement


def f1_table(model, sets, threshold) -> dict:
    """Strict micro F1 per set, asking for the set's own labels (those in its sample)."""
    rows = {}
    for name, (examples, adapter) in sets.items():
        row = {}
        modes = {"base": None, "routed": "auto"}
        if adapter in model.adapters:
            modes["oracle"] = adapter
        for mode, choice in modes.items():
            report = evaluate(model, examples, None, DecodeOptions(threshold=threshold), adapter=choice)
            row[mode] = round(100 * report.micro.f1, 2)
        rows[name] = row
        print(name, row, flush=True)
    return rows


def routing(model, sets, pairs: int) -> dict:
    out = {}
    for name, (examples, adapter) in sets.items():
        texts = [text_of(ex, adapter) for ex in examples if len(ex.words) >= 5]
        got = [r["adapter"] for r in model.route(texts)]
        wrong = Counter(str(g) for g in got if g != adapter).most_common(1)
        out[name] = {
            "sentences": len(texts),
            "accuracy": round(100 * float(np.mean([g == adapter for g in got])), 2),
            # where most of the misrouted ones went ("None": the shared base), and their share
            "most_misrouted_to": [wrong[0][0], round(100 * wrong[0][1] / len(texts), 2)] if wrong else None,
        }
    rng = np.random.default_rng(1)
    names = [n for n, (_, a) in sets.items() if a is not None]
    hits = 0
    for _ in range(pairs):
        a, b = rng.choice(names, 2, replace=False)
        ea, eb = sets[a][0][rng.integers(len(sets[a][0]))], sets[b][0][rng.integers(len(sets[b][0]))]
        text = text_of(ea, sets[a][1]) + " " + text_of(eb, sets[b][1])
        hits += model.route([text])[0]["adapter"] in (sets[a][1], sets[b][1])
    out["code-switched"] = {"pairs": pairs, "accuracy (one of the two)": round(100 * hits / pairs, 2)}
    return out


def overhead(model, texts, labels, repeats: int = 3) -> dict:
    """Seconds for the whole set: NER with the adapter given, routing alone, NER routed."""

    def best(fn):
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            fn()
            times.append(time.perf_counter() - tic)
        return min(times)

    routes = [r["adapter"] for r in model.route(texts)]
    forced = best(lambda: model.batch_predict_entities(texts, labels, adapter=routes))
    route = best(lambda: model.route(texts))
    routed = best(lambda: model.batch_predict_entities(texts, labels, adapter="auto"))
    return {
        "texts": len(texts),
        "ner_forced_s": round(forced, 3),
        "routing_s": round(route, 3),
        "ner_routed_s": round(routed, 3),
        "routing_share_%": round(100 * route / forced, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--model", default="multilingual")
    parser.add_argument("--per-set", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=400, help="code-switched pairs routed")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    model = anyner.load(args.model, precision="fp32", runtime="torch")
    sets = {
        name: (sentences(data, [name], args.per_set, 0, split="dev"), adapter)
        for name, adapter in DEV.items()
    }
    result = {"model": args.model, "per_set": args.per_set, "threshold": args.threshold}
    result["routing"] = routing(model, sets, args.pairs)
    print(json.dumps(result["routing"], indent=1), flush=True)
    short = [text_of(ex, a) for name, (exs, a) in sets.items() if a for ex in exs[:25] if len(ex.words) <= 12]
    result["overhead"] = overhead(model, short, LABELS)
    print(result["overhead"], flush=True)
    result["f1"] = f1_table(model, sets, args.threshold)
    for mean, names in MEANS.items():
        result[f"{mean}_mean"] = {
            mode: round(float(np.mean([result["f1"][n][mode] for n in names])), 2)
            for mode in ("base", "routed", "oracle")
        }
        print(mean, "mean", result[f"{mean}_mean"], flush=True)
    if args.results:
        Path(args.results).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
