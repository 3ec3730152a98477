"""The pure parts of the side-by-side benchmark: encoder FLOPs, metrics per configuration,
whether two paths found identical entities, and the markdown / JSON output."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

SECTION_START = "<!-- compare:start -->"
SECTION_END = "<!-- compare:end -->"
SCORE_TOLERANCE = 1e-4
REFERENCE_PEAK = {"fp32": 255.0, "bf16": 580.0}  # GFLOP/s on 2 threads, docs/encoders in ../shared
MEMORY_LIMIT_MB = 2048  # the 100,000-word document must stay under 2 GB


# -- FLOPs ------------------------------------------------------------------------------
def encoder_flops(lengths: Sequence[int], layers: int, hidden: int, ffn: int) -> float:
    """Matmul FLOPs of a BERT-style encoder over sequences of these real lengths (prompt and
    special tokens included, padding excluded). Per layer and sequence of T tokens:
    2·T·(4h² + 2h·ffn) for the Q/K/V/output projections and the feed-forward, plus 2·2·T²·h
    for the attention scores (QKᵀ) and the weighted sum of values."""
    linear = 2 * (4 * hidden * hidden + 2 * hidden * ffn)
    return float(layers * sum(t * linear + 4 * t * t * hidden for t in lengths))


# -- threshold --------------------------------------------------------------------------
def calibrated_threshold(found: Sequence[Sequence[dict]], per_text: float) -> float:
    """The threshold that keeps about ``per_text`` entities per text: the score of the k-th best
    entity (k = per_text × texts) among those found with a threshold of 0. Untrained heads score
    every span near 0.5, so a fixed 0.5 would keep half of all spans, or none."""
    scores = sorted((e["score"] for ents in found for e in ents), reverse=True)
    if not scores:
        raise ValueError("the model found no entity at all, even with threshold 0")
    k = max(1, min(len(scores), round(per_text * len(found))))
    return scores[k - 1]


# -- metrics ----------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True)
class Measurement:
    """One configuration run by one path: what the worker timed, with the corpus facts."""

    input: str
    labels: int
    batch: int
    path: str
    texts: int
    words: int
    call_seconds: list[float]
    flops: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Row:
    input: str
    labels: int
    batch: int
    path: str
    texts: int
    words: int
    seconds: float
    texts_per_s: float
    words_per_s: float
    p50_ms: float
    p95_ms: float
    peak_rss_mb: float
    gflops: float
    peak_fraction: float
    vs_gliner: float | None = None
    entities_vs_gliner: str | None = None
    entities_vs_fp32: str | None = None  # against anyner fp32 on torch, same texts

    def to_dict(self) -> dict:
        return asdict(self)


def summarise(m: Measurement, peak_gflops: float) -> Row:
    seconds = sum(m.call_seconds)
    gflops = m.flops / seconds / 1e9 if seconds else math.nan
    return Row(
        input=m.input,
        labels=m.labels,
        batch=m.batch,
        path=m.path,
        texts=m.texts,
        words=m.words,
        seconds=seconds,
        texts_per_s=m.texts / seconds if seconds else math.nan,
        words_per_s=m.words / seconds if seconds else math.nan,
        p50_ms=percentile(m.call_seconds, 50) * 1000,
        p95_ms=percentile(m.call_seconds, 95) * 1000,
        peak_rss_mb=m.peak_rss_mb,
        gflops=gflops,
        peak_fraction=gflops / peak_gflops if peak_gflops else math.nan,
    )


# -- identical entities -----------------------------------------------------------------
@dataclass(frozen=True)
class Agreement:
    """How one path's entities compare with the reference's on the texts both ran."""

    texts: int
    reference_entities: int
    differing_texts: int  # texts whose (start, end, label) lists differ
    max_score_diff: float  # over entities matched by (start, end, label); nan when none match

    @property
    def identical(self) -> bool:
        """Same spans everywhere and close scores (no entity on either side counts as same)."""
        return self.differing_texts == 0 and not self.max_score_diff > SCORE_TOLERANCE

    def describe(self) -> str:
        texts = f"{self.texts} text{'s' if self.texts != 1 else ''}"
        if self.identical:
            return f"identical ({self.reference_entities} entities, {texts})"
        spans = f"spans differ in {self.differing_texts}/{texts}" if self.differing_texts else "same spans"
        if math.isnan(self.max_score_diff):
            return f"{spans}; no entity in common"
        return f"{spans}; max score diff {self.max_score_diff:.1e}"


def _key(e: dict) -> tuple[int, int, str]:
    return (e["start"], e["end"], e["label"])


def compare_entities(ours: Sequence[Sequence[dict]], reference: Sequence[Sequence[dict]]) -> Agreement:
    """Entities per text, compared on the first texts both have: same (start, end, label) sets,
    and the scores of matching entities within :data:`SCORE_TOLERANCE`."""
    n = min(len(ours), len(reference))
    differing = 0
    diffs = []
    for a, b in zip(ours[:n], reference[:n], strict=True):
        sa = {_key(e): e["score"] for e in a}
        sb = {_key(e): e["score"] for e in b}
        differing += sa.keys() != sb.keys()
        diffs.extend(abs(sa[k] - sb[k]) for k in sa.keys() & sb.keys())
    return Agreement(n, sum(len(b) for b in reference[:n]), differing, max(diffs, default=math.nan))


# -- long document ----------------------------------------------------------------------
@dataclass(frozen=True)
class Scaling:
    """Seconds for growing prefixes of the long document, one path, one configuration."""

    path: str
    seconds: dict[int, float]  # words -> seconds
    peak_rss_mb: float

    @property
    def growth(self) -> float:
        """Time ratio of the longest to the shortest prefix, divided by their length ratio:
        1.0 is exactly linear, 2.0 would mean the time per word doubled."""
        lo, hi = min(self.seconds), max(self.seconds)
        return (self.seconds[hi] / self.seconds[lo]) / (hi / lo)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "seconds": {str(w): s for w, s in sorted(self.seconds.items())},
            "growth": self.growth,
            "peak_rss_mb": self.peak_rss_mb,
            "under_limit": self.peak_rss_mb < MEMORY_LIMIT_MB,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Scaling:
        return cls(d["path"], {int(w): s for w, s in d["seconds"].items()}, d["peak_rss_mb"])


# -- output -----------------------------------------------------------------------------
def _num(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


ROW_HEADER = (
    "| labels | batch | path | texts | texts/s | words/s | p50 ms | p95 ms | peak RSS MiB "
    "| GFLOP/s | % of peak | × gliner | entities vs gliner | entities vs anyner fp32 |\n"
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def row_line(r: Row) -> str:
    cells = [
        str(r.labels),
        str(r.batch),
        r.path,
        str(r.texts),
        _num(r.texts_per_s, 1),
        _num(r.words_per_s),
        _num(r.p50_ms, 1),
        _num(r.p95_ms, 1),
        _num(r.peak_rss_mb),
        _num(r.gflops, 1),
        _num(r.peak_fraction * 100),
        f"{r.vs_gliner:.2f}×" if r.vs_gliner is not None else "–",
        r.entities_vs_gliner or "–",
        r.entities_vs_fp32 or "–",
    ]
    return "| " + " | ".join(cells) + " |"


def rows_table(rows: Sequence[Row]) -> str:
    return "\n".join([ROW_HEADER, *(row_line(r) for r in rows)])


def scaling_table(items: Sequence[Scaling]) -> str:
    sizes = sorted({w for s in items for w in s.seconds})
    head = "| path | " + " | ".join(f"{w:,} words, s" for w in sizes) + " | growth | peak RSS MiB | < 2 GB |"
    lines = [head, "|---|" + "---:|" * len(sizes) + "---:|---:|---|"]
    for s in items:
        cells = " | ".join(_num(s.seconds.get(w), 2) for w in sizes)
        ok = "yes" if s.peak_rss_mb < MEMORY_LIMIT_MB else "**no**"
        lines.append(f"| {s.path} | {cells} | {s.growth:.2f} | {_num(s.peak_rss_mb)} | {ok} |")
    return "\n".join(lines)


def summary(rows: Sequence[Row], batch: int) -> list[str]:
    """The issue's headline numbers: ratios on short sentences at the largest batch with up to
    16 labels, whether fp32 matches gliner there, and the best fraction of the matmul peak."""
    target = [r for r in rows if r.input == "short" and r.batch == batch and r.labels <= 16 and r.vs_gliner]
    lines = []
    paths = list(dict.fromkeys(r.path for r in target))
    for path in paths:
        mine = [r for r in target if r.path == path]
        lo, hi = min(r.vs_gliner for r in mine), max(r.vs_gliner for r in mine)
        ratio = f"{lo:.2f}×" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}–{hi:.2f}×"
        same = all((r.entities_vs_gliner or "").startswith("identical") for r in mine)
        counts = "/".join(str(r.labels) for r in mine)
        vs_fp32 = ""
        if all(r.entities_vs_fp32 for r in mine):
            same_fp32 = all(r.entities_vs_fp32.startswith("identical") for r in mine)
            vs_fp32 = f", {'identical' if same_fp32 else 'not identical'} to anyner fp32's"
        lines.append(
            f"- {path}: {ratio} gliner's throughput (short sentences, batch {batch}, "
            f"{counts} labels); entities {'identical' if same else 'not identical'} to gliner's" + vs_fp32
        )
    for path in dict.fromkeys(r.path for r in rows):
        best = max(
            (r for r in rows if r.path == path and not math.isnan(r.peak_fraction)),
            key=lambda r: r.peak_fraction,
            default=None,
        )
        if best is not None:
            lines.append(
                f"- {path}: at best {best.gflops:.0f} GFLOP/s in the encoder, "
                f"{best.peak_fraction:.0%} of the matmul peak ({best.input}, {best.labels} labels, "
                f"batch {best.batch})"
            )
    return lines


INPUT_TITLES = {
    "short": "Short sentences",
    "paragraphs": "Paragraphs of about 300 words",
    "long": "One long document",
}

METHOD = """\
### How it is measured

- **Checkpoint.** {checkpoint}.
  gliner makes and saves it in its own virtual environment; anyner loads the same folder.
  Threshold {threshold:.4g} ({threshold_note}); flat NER; the same labels for every text.
- **Inputs.** Short sentences: a seeded sample of the zero-shot dev test sentences in
  `../shared/data`; paragraphs: consecutive sentences of one data set joined to about 300 words;
  the long document: every test sentence in turn. Words are whitespace-separated. Labels: a fixed
  list of 64 entity types, of which the 4 and 16 are its first entries.
- **Timing.** Each path runs each input kind in a fresh process ({threads} threads: torch,
  onnxruntime and the OMP/MKL variables), warms up, then calls the model on `batch` texts at a
  time until its texts or about {seconds:g} s run out; the `texts` column says how many it used.
  Latency is per call of `batch` texts. Peak RSS is that process's peak resident memory
  (`VmHWM`: `ru_maxrss` would start at the size of the parent that forked it), model
  included, over everything the process ran (one input kind). The ONNX paths load anyner's
  ONNX export of the checkpoint, made once before the runs: onnxruntime, tokenizers and numpy,
  no torch.
- **Encoder GFLOP/s** counts the encoder's matrix multiplies from the real token counts of each
  pass (label prompt and special tokens included, padding excluded): per layer and sequence of T
  tokens, 2·T·(4h² + 2h·ffn) + 2·2·T²·h
  (here {encoder}). The span head, LSTM and decoding are not counted. `% of peak` holds bf16
  paths against the bf16 matmul peak and the others (int8 included) against the fp32 peak.
- **Same entities.** gliner reads at most 384 words and 512 sub-tokens and cuts the rest, so it
  is compared only on texts it reads whole (anyner makes exactly one encoder pass for them);
  where fewer than half the texts fit, the configuration is anyner only. Identical means the same
  (start, end, label) for every text and every score within {tolerance:g}. bf16 and int8 change
  scores by more than the gaps between an untrained head's near-0.5 scores, so their entities
  are not expected to match; their accuracy cost is measured as F1 on the zero-shot dev sets.
- **Long document.** anyner only, one call per configuration, at batch {long_batches}{long_note}.
  Linearity: the {scaling} word prefixes are timed with {labels0} labels at batch {batch};
  growth = (time ratio) / (length ratio), 1.00 is linear.
"""


def render_section(data: dict) -> str:
    rows = [Row(**r) for r in data["rows"]]
    scaling = [Scaling.from_dict(s) for s in data["scaling"]]
    plan = data["plan"]
    m, peak, ref = data["machine"], data["matmul_peak_gflops"], data["reference_peak_gflops"]
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    batch = max(plan["batch_sizes"])
    out = ["## Side-by-side with gliner", ""]
    if data["quick"]:
        out += ["*A `--quick` smoke run: tiny budgets, not a measurement.*", ""]
    features = ""
    if "cpu_features" in m:
        absent = f"; no {', '.join(m['cpu_features_absent'])}" if m.get("cpu_features_absent") else ""
        features = f"; {', '.join(m['cpu_features']) or 'none of AVX2, AVX-512, VNNI, bf16'}{absent}"
    out += [
        f"Measured {data['date']} on {m['cpu']} ({m['cores']} cores{features}), {data['threads']} "
        f"threads for every path. Versions: {versions}.",
        "",
        *(
            [
                f'`anyner auto` is the default `anyner.load()` path (`precision="auto"`); here it ran '
                f"{data['auto_picks']}.",
                "",
            ]
            if data.get("auto_picks")
            else []
        ),
        f"Command: `{data['command']}`",
        "",
        f"Matmul peak at {data['threads']} threads, measured in this run: fp32 {peak['fp32']:.0f} "
        f"GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s (reference for this machine: {ref['fp32']:.0f} "
        f"and {ref['bf16']:.0f}).",
        "",
        "### Summary",
        "",
        *(summary(rows, batch) or ["- no configuration ran on both gliner and anyner"]),
        *(
            f"- the long document, {s.path}: growth {s.growth:.2f} (1.00 = linear), peak RSS "
            f"{s.peak_rss_mb:,.0f} MiB ({'under' if s.peak_rss_mb < MEMORY_LIMIT_MB else '**over**'} 2 GB)"
            for s in scaling
        ),
        *(f"- **failed**: {line}" for line in data["failures"]),
    ]
    for kind, title in INPUT_TITLES.items():
        mine = [r for r in rows if r.input == kind]
        if not mine:
            continue
        sets = [s for s in data["text_sets"] if s["input"] == kind]
        if kind == "long":
            heading = f"### {title} ({max(s['words'] for s in sets):,} words)"
            notes = ["- anyner only: gliner cuts every text at 384 words"]
        else:
            heading = f"### {title}"
            notes = [f"- {s['labels']} labels: {s['note']}" for s in sets if s["note"]]
        out += ["", heading, "", *notes, *([""] if notes else []), rows_table(mine)]
        if kind == "long" and scaling:
            out += ["", scaling_table(scaling)]
    long_sizes = sorted({w for s in scaling for w in s.seconds})
    out += [
        "",
        METHOD.format(
            checkpoint=data["checkpoint"],
            threshold=data["threshold"],
            threshold_note=data["threshold_note"],
            threads=data["threads"],
            seconds=plan["seconds"],
            encoder="{layers} layers, h = {hidden}, ffn = {ffn}".format(**data["encoder"]),
            tolerance=SCORE_TOLERANCE,
            scaling=", ".join(f"{w:,}" for w in long_sizes) or "–",
            labels0=plan["label_counts"][0],
            long_batches=" and ".join(map(str, plan["long_batch_sizes"])),
            long_note=""
            if 1 in plan["long_batch_sizes"]
            else " (one 512-token window already fills a call; `--long-batch-sizes 1,8` adds batch 1)",
            batch=max(plan["long_batch_sizes"]),
        ).rstrip(),
    ]
    return "\n".join(out) + "\n"


def replace_section(document: str, section: str) -> str:
    """``document`` with the text between the compare markers replaced by ``section`` (the
    markers and everything outside them kept); the section is appended when there are none."""
    block = f"{SECTION_START}\n{section.strip()}\n{SECTION_END}"
    start, end = document.find(SECTION_START), document.find(SECTION_END)
    if start != -1 and end > start:
        return document[:start] + block + document[end + len(SECTION_END) :]
    if not document.strip():
        return f"# Performance\n\n{block}\n"
    return document.rstrip("\n") + "\n\n" + block + "\n"
