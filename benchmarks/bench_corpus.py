"""The fixed benchmark corpus: short sentences, ~300-word paragraphs and one long document, all
from the zero-shot dev test splits in ../shared/data, plus the label lists (4 and 16 are prefixes
of the 64). Pure and deterministic: the same data folder gives the same texts."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

LABELS_64 = [
    "person",
    "organization",
    "location",
    "date",
    "product",
    "event",
    "money",
    "facility",
    "disease",
    "drug",
    "law",
    "language",
    "nationality",
    "work of art",
    "quantity",
    "time",
    "city",
    "country",
    "company",
    "government agency",
    "political party",
    "sports team",
    "university",
    "hospital",
    "airport",
    "river",
    "mountain",
    "building",
    "vehicle",
    "weapon",
    "software",
    "programming language",
    "website",
    "email address",
    "phone number",
    "percentage",
    "currency",
    "stock ticker",
    "chemical compound",
    "gene",
    "protein",
    "cell type",
    "anatomical structure",
    "symptom",
    "medical procedure",
    "species",
    "food",
    "musical instrument",
    "film",
    "book",
    "song",
    "award",
    "job title",
    "religion",
    "ethnic group",
    "sports event",
    "natural disaster",
    "material",
    "manufacturing process",
    "machine",
    "scientific theory",
    "academic discipline",
    "court case",
    "treaty",
]
LABEL_COUNTS = (4, 16, 64)


def labels(n: int) -> list[str]:
    if not 1 <= n <= len(LABELS_64):
        raise ValueError(f"label count must be 1..{len(LABELS_64)}, got {n}")
    return LABELS_64[:n]


@dataclass(frozen=True)
class CorpusSpec:
    """How much text to build. Words are whitespace-separated tokens of the source sentences."""

    short_texts: int = 512
    paragraphs: int = 64
    paragraph_words: int = 300
    long_words: int = 100_000
    min_short_words: int = 5
    seed: int = 0


@dataclass(frozen=True)
class Corpus:
    short: list[str]
    paragraphs: list[str]
    long: str


def read_sentences(data: Path) -> dict[str, list[list[str]]]:
    """Token lists of every zero-shot dev test split, per data set, in file order."""
    root = data / "zeroshot_dev"
    files = sorted(root.glob("*/test.jsonl"))
    if not files:
        raise FileNotFoundError(f"no zero-shot dev test splits under {root} (expected <set>/test.jsonl)")
    out = {}
    for path in files:
        with path.open(encoding="utf-8") as f:
            out[path.parent.name] = [json.loads(line)["tokenized_text"] for line in f if line.strip()]
    return out


def build_corpus(sentences: dict[str, list[list[str]]], spec: CorpusSpec) -> Corpus:
    names = sorted(sentences)
    pool = [s for n in names for s in sentences[n] if len(s) >= spec.min_short_words]
    short = [" ".join(s) for s in random.Random(spec.seed).sample(pool, min(spec.short_texts, len(pool)))]
    return Corpus(
        short, _paragraphs(sentences, names, spec), _long_document(sentences, names, spec.long_words)
    )


def _paragraphs(sentences: dict[str, list[list[str]]], names: list[str], spec: CorpusSpec) -> list[str]:
    """Consecutive sentences of one data set joined until about ``paragraph_words`` words, taking
    one paragraph from each data set in turn."""
    per_set = {}
    for name in names:
        paragraphs, current = [], []
        for sentence in sentences[name]:
            if current and len(current) + len(sentence) > spec.paragraph_words:
                if len(current) >= spec.paragraph_words * 0.8:
                    paragraphs.append(" ".join(current))
                current = []
            current = current + sentence
        per_set[name] = paragraphs
    out: list[str] = []
    for i in range(max(map(len, per_set.values()), default=0)):
        out.extend(per_set[n][i] for n in names if i < len(per_set[n]))
    return out[: spec.paragraphs]


def _long_document(sentences: dict[str, list[list[str]]], names: list[str], n_words: int) -> str:
    """Every test sentence in turn (cycling if needed) until exactly ``n_words`` words."""
    words: list[str] = []
    stream = [s for n in names for s in sentences[n]]
    if not any(stream):
        raise ValueError("the data sets hold no words")
    while len(words) < n_words:
        for sentence in stream:
            words.extend(sentence)
            if len(words) >= n_words:
                break
    return " ".join(words[:n_words])


def word_prefix(text: str, n_words: int) -> str:
    """The first ``n_words`` whitespace-separated words of ``text``."""
    return " ".join(text.split()[:n_words])


def word_count(text: str) -> int:
    return len(text.split())
