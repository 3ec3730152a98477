"""The African languages of MasakhaNER 2.0 on the multilingual model: one adapter per language
against one group adapter for all of them, on the same shared base (issue 12 asks which is
better). Nothing here is shipped: the shipped model's African adapters (one per language, as
this measured to be better) are made by train_language_adapters.py.

    python benchmarks/african_adapters.py --data ../shared/data --languages swa yor hau

The group adapter sees ``--texts`` sentences spread over all 20 languages' train splits; each
language's own adapter sees ``--texts`` of its own. Both take the same LoRA steps. Scored on a
fixed sample of each language's dev split (strict micro F1, the set's own labels).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from train_language_adapters import sentences

import anyner
from anyner.adapters import AdaptSettings
from anyner.eval.evaluate import evaluate

ALL = "bam bbj ewe fon hau ibo kin lug luo mos nya pcm sna swa tsn twi wol xho yor zul".split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--languages", nargs="+", default=["swa", "yor", "hau"])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--dev", type=int, default=300)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    data = Path(args.data)
    model = anyner.load("multilingual", precision="fp32", runtime="torch")
    settings = replace(AdaptSettings(), lora=replace(AdaptSettings().lora, steps=args.steps))
    per = args.texts // len(ALL)
    group = [ex for code in ALL for ex in sentences(data, [f"masakhaner_{code}"], per, 0) if ex.spans]
    model.adapt(group, name="group", method="lora", settings=settings, evaluate=False)
    rows = {}
    for code in args.languages:
        own = [ex for ex in sentences(data, [f"masakhaner_{code}"], args.texts, 0) if ex.spans]
        model.adapt(own, name=f"own-{code}", method="lora", settings=settings, evaluate=False)
        dev = sentences(data, [f"masakhaner_{code}"], args.dev, 0, split="dev")
        rows[code] = {
            mode: round(100 * evaluate(model, dev, adapter=adapter).micro.f1, 2)
            for mode, adapter in (("base", None), ("group", "group"), ("own", f"own-{code}"))
        }
        print(code, rows[code], flush=True)
        model.delete_adapter(f"own-{code}")
    modes = ("base", "group", "own")
    means = {mode: round(float(np.mean([r[mode] for r in rows.values()])), 2) for mode in modes}
    print("mean", means, flush=True)
    if args.results:
        Path(args.results).write_text(json.dumps({"per_language": rows, "mean": means}, indent=1) + "\n")


if __name__ == "__main__":
    main()
