"""The pure parts of benchmarks/compare.py: corpus, FLOP count, entity comparison, the timed loop,
planning, and the markdown / JSON output. Offline, without gliner or its venv."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_corpus
import bench_report
import bench_worker
import compare
import gliner_env
from bench_corpus import CorpusSpec


def _sentences() -> dict[str, list[list[str]]]:
    def sent(tag: str, i: int, n: int) -> list[str]:
        return [f"{tag}{i}w{j}" for j in range(n)]

    return {
        "beta": [sent("b", i, 7) for i in range(60)],
        "alpha": [sent("a", i, 3 if i % 5 == 0 else 10) for i in range(80)],
    }


# -- corpus -----------------------------------------------------------------------------
def test_short_sentences_are_a_seeded_sample_of_long_enough_sentences():
    sentences = _sentences()
    spec = CorpusSpec(short_texts=20, paragraphs=2, paragraph_words=50, long_words=100, min_short_words=5)
    first = bench_corpus.build_corpus(sentences, spec)
    assert first == bench_corpus.build_corpus(sentences, spec)
    assert len(first.short) == 20 and len(set(first.short)) == 20
    all_texts = {" ".join(s) for group in sentences.values() for s in group}
    assert set(first.short) <= all_texts
    assert all(len(t.split()) >= 5 for t in first.short)  # the 3-word sentences are never picked
    other = bench_corpus.build_corpus(sentences, CorpusSpec(**{**spec.__dict__, "seed": 1}))
    assert other.short != first.short


def test_paragraphs_join_consecutive_sentences_of_one_set_taking_sets_in_turn():
    corpus = bench_corpus.build_corpus(_sentences(), CorpusSpec(paragraphs=4, paragraph_words=50))
    assert len(corpus.paragraphs) == 4
    for p in corpus.paragraphs:
        assert 40 <= len(p.split()) <= 50
    # alpha and beta alternate; each paragraph continues where that set's previous one stopped
    assert [p[0] for p in corpus.paragraphs] == ["a", "b", "a", "b"]
    assert corpus.paragraphs[0].split()[0] == "a0w0"
    a1 = corpus.paragraphs[2].split()
    assert a1[0].split("w")[0] == "a" + str(int(corpus.paragraphs[0].split()[-1][1:].split("w")[0]) + 1)


def test_long_document_has_exactly_the_words_asked_for_and_cycles_when_needed():
    sentences = _sentences()
    total = sum(len(s) for group in sentences.values() for s in group)
    for n in (5, total, total + 123):
        doc = bench_corpus.build_corpus(sentences, CorpusSpec(long_words=n)).long
        assert bench_corpus.word_count(doc) == n
    assert bench_corpus.word_prefix("a b c d", 2) == "a b"


def test_labels_are_prefixes_of_one_list_of_64_distinct_types():
    assert len(set(bench_corpus.LABELS_64)) == 64
    assert bench_corpus.labels(16)[:4] == bench_corpus.labels(4)
    assert bench_corpus.labels(64)[:16] == bench_corpus.labels(16)
    with pytest.raises(ValueError, match=r"1\.\.64"):
        bench_corpus.labels(65)


def test_reads_the_test_splits_and_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="zeroshot_dev"):
        bench_corpus.read_sentences(tmp_path)
    folder = tmp_path / "zeroshot_dev" / "set"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text('{"tokenized_text": ["a", "b"], "ner": []}\n\n', encoding="utf-8")
    assert bench_corpus.read_sentences(tmp_path) == {"set": [["a", "b"]]}


# -- FLOPs ------------------------------------------------------------------------------
def test_flop_formula_by_hand():
    # one layer, h = 2, ffn = 3, T = 5: 2·5·(4·4 + 2·2·3) + 4·25·2
    assert bench_report.encoder_flops([5], 1, 2, 3) == 2 * 5 * (16 + 12) + 4 * 25 * 2
    assert bench_report.encoder_flops([5, 7], 3, 2, 3) == 3 * (
        bench_report.encoder_flops([5], 1, 2, 3) + bench_report.encoder_flops([7], 1, 2, 3)
    )
    assert bench_report.encoder_flops([], 6, 384, 1536) == 0


def test_flop_formula_matches_torch_flop_counter_on_a_bert(tiny_backbone):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import BertModel

    model = BertModel.from_pretrained(
        tiny_backbone, add_pooling_layer=False, attn_implementation="eager"
    ).eval()
    cfg = model.config
    for t in (7, 33):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(input_ids=torch.ones(1, t, dtype=torch.long))
        expected = bench_report.encoder_flops(
            [t], cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size
        )
        assert counter.get_total_flops() == expected


def test_calibrated_threshold_keeps_about_the_asked_number_of_entities_per_text():
    found = [[_e(0, 1, "a", 0.9), _e(2, 3, "a", 0.2)], [_e(0, 1, "a", 0.5)], [], [_e(0, 1, "a", 0.05)]]
    assert bench_report.calibrated_threshold(found, 0.75) == 0.2  # 4 texts: the 3rd best score
    assert bench_report.calibrated_threshold(found, 0.5) == 0.5
    assert bench_report.calibrated_threshold(found, 10.0) == 0.05  # no more entities than found
    with pytest.raises(ValueError, match="no entity"):
        bench_report.calibrated_threshold([[], []], 2.0)


# -- metrics and entity comparison ------------------------------------------------------
def test_percentile_interpolates_like_numpy():
    assert bench_report.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert bench_report.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert bench_report.percentile([7.0], 95) == 7.0
    assert math.isnan(bench_report.percentile([], 50))


def test_summarise_turns_call_times_into_rates_and_peak_fraction():
    m = bench_report.Measurement("short", 4, 8, "anyner fp32", 16, 200, [1.0, 3.0], 8e11, 512.0)
    r = bench_report.summarise(m, peak_gflops=400.0)
    assert (r.texts_per_s, r.words_per_s, r.seconds) == (4.0, 50.0, 4.0)
    assert (r.p50_ms, r.p95_ms) == (2000.0, pytest.approx(2900.0))
    assert r.gflops == 200.0 and r.peak_fraction == 0.5
    assert json.loads(json.dumps(r.to_dict()))["path"] == "anyner fp32"


def _e(start, end, label, score):
    return {"start": start, "end": end, "label": label, "score": score}


def test_identical_entities_need_same_spans_and_labels_and_close_scores():
    ref = [[_e(0, 4, "person", 0.9), _e(10, 12, "date", 0.6)], [], [_e(1, 2, "city", 0.7)]]
    same = bench_report.compare_entities(
        [[_e(10, 12, "date", 0.60005), _e(0, 4, "person", 0.9)], [], [_e(1, 2, "city", 0.7)]], ref
    )
    assert same.identical and same.texts == 3 and same.reference_entities == 3
    assert same.describe() == "identical (3 entities, 3 texts)"

    drift = bench_report.compare_entities(
        [[_e(0, 4, "person", 0.9), _e(10, 12, "date", 0.61)], [], [_e(1, 2, "city", 0.7)]], ref
    )
    assert not drift.identical and drift.differing_texts == 0
    assert drift.max_score_diff == pytest.approx(0.01)
    assert drift.describe().startswith("same spans; max score diff 1.0e-02")

    other = bench_report.compare_entities(
        [[_e(0, 4, "location", 0.9), _e(10, 12, "date", 0.6)], [], [_e(1, 2, "city", 0.7)]], ref
    )
    assert not other.identical and other.differing_texts == 1
    assert "spans differ in 1/3 texts" in other.describe()

    disjoint = bench_report.compare_entities([[_e(0, 2, "person", 0.9)]], [[_e(0, 4, "person", 0.9)]])
    assert not disjoint.identical
    assert disjoint.describe() == "spans differ in 1/1 text; no entity in common"
    assert bench_report.compare_entities([[], []], [[], []]).identical


def test_entity_comparison_uses_only_the_texts_both_paths_ran():
    ref = [[_e(0, 1, "person", 0.9)], [_e(0, 1, "person", 0.9)]]
    assert bench_report.compare_entities([[_e(0, 1, "person", 0.9)]], ref).identical
    assert bench_report.compare_entities([[_e(0, 1, "person", 0.9)]], ref).texts == 1


def test_scaling_growth_is_one_when_time_is_proportional_to_length():
    s = bench_report.Scaling("p", {25_000: 2.0, 50_000: 4.0, 100_000: 8.0}, 900.0)
    assert s.growth == 1.0
    assert bench_report.Scaling("p", {25_000: 2.0, 100_000: 16.0}, 900.0).growth == 2.0
    back = bench_report.Scaling.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and s.to_dict()["under_limit"]


# -- the timed loop ---------------------------------------------------------------------
def _fake_predict(calls):
    def predict(texts, labels, threshold, batch_size):
        calls.append(list(texts))
        return [[_e(0, 1, labels[0], threshold)] for _ in texts]

    return predict


def test_timed_run_warms_up_then_times_calls_of_batch_size_until_texts_run_out():
    calls = []
    texts = [f"t{i}" for i in range(10)]
    run = {
        "id": "x",
        "texts": "set",
        "labels": ["person"],
        "batch_size": 4,
        "max_seconds": 1e9,
        "warmup": [["w1"], ["w2"]],
        "keep_entities": True,
    }
    out = bench_worker.timed_run(_fake_predict(calls), texts, run, 0.25)
    assert calls == [["w1"], ["w2"], texts[0:4], texts[4:8], texts[8:10]]
    assert out["texts_used"] == 10 and len(out["call_seconds"]) == 3
    assert out["entity_count"] == 10 and out["entities"][0] == [_e(0, 1, "person", 0.25)]


def test_timed_run_stops_at_its_time_budget_and_drops_entities_when_not_asked():
    calls = []
    run = {
        "id": "x",
        "texts": "set",
        "labels": ["person"],
        "batch_size": 2,
        "max_seconds": 0.0,
        "warmup": [],
        "keep_entities": False,
    }
    out = bench_worker.timed_run(_fake_predict(calls), ["a", "b", "c"], run, 0.5)
    assert calls == [["a", "b"]] and out["texts_used"] == 2
    assert out["entities"] is None and out["entity_count"] == 2


def test_worker_reads_a_job_and_writes_results_with_its_own_peak_memory(tmp_path, monkeypatch):
    job = {
        "path": {"name": "fake"},
        "threshold": 0.5,
        "texts": {"a": ["x", "y", "z"], "b": ["w"]},
        "runs": [
            {"id": "a/b2", "texts": "a", "labels": ["city"], "batch_size": 2, "max_seconds": 1e9,
             "warmup": [], "keep_entities": True},
            {"id": "b/b1", "texts": "b", "labels": ["date"], "batch_size": 1, "max_seconds": 1e9,
             "warmup": [], "keep_entities": False},
        ],
    }  # fmt: skip
    (tmp_path / "job.json").write_text(json.dumps(job), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["runner", str(tmp_path / "job.json"), str(tmp_path / "out.json")])

    def load(got):
        assert got == job
        return _fake_predict([]), {"fake": "1.0"}

    bench_worker.main(load)
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [(r["id"], r["texts"], r["texts_used"]) for r in out["runs"]] == [
        ("a/b2", "a", 3),
        ("b/b1", "b", 1),
    ]
    assert out["runs"][0]["entities"][2] == [_e(0, 1, "city", 0.5)] and out["runs"][1]["entities"] is None
    assert out["versions"] == {"fake": "1.0"} and out["peak_rss_mb"] > 0
    assert "picked" not in out

    # a runner may add keys to the result: the auto path says what it ran on
    bench_worker.main(lambda got: (_fake_predict([]), {"fake": "1.0"}, {"picked": "fp32 on onnx"}))
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["picked"] == "fp32 on onnx" and out["versions"] == {"fake": "1.0"}


def test_peak_memory_is_the_workers_own_not_its_parents():
    import subprocess

    code = (
        "import bench_worker as w; a = w.peak_rss_mb(); b = bytearray(b'1' * (100 * 2**20)); "
        "print(a, w.peak_rss_mb())"
    )
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=benchmarks, capture_output=True, text=True, check=True
    )
    start, end = map(float, out.stdout.split())
    assert start < 100  # a bare interpreter, whatever this (larger) test process holds
    assert end >= start + 95


# -- planning ---------------------------------------------------------------------------
def test_texts_gliner_would_truncate_are_left_out_of_the_comparison(span_model):
    fits = "bill gates founded microsoft in albuquerque"
    too_long = " ".join(["new york city is big"] * 80)  # 400 words > gliner's 384
    corpus = bench_corpus.Corpus([fits, fits + " on april"], [fits, too_long, too_long], too_long)
    plan = compare.Plan(CorpusSpec(long_words=400), (4,), (1, 8), (1, 8), 1.0, (100, 200))
    sets = {s.key: s for s in compare.text_sets(span_model, corpus, plan)}
    short, paragraphs = sets["short/4"], sets["paragraphs/4"]
    assert short.with_gliner and short.texts == corpus.short and not short.note
    assert not paragraphs.with_gliner and paragraphs.texts == corpus.paragraphs
    assert "truncate 2 of 3" in paragraphs.note
    assert [k for k in sets if k.startswith("long")] == ["long/4/100", "long/4/200", "long/4/400"]
    assert sets["long/4/100"].scaling_only and not sets["long/4/400"].scaling_only
    # the FLOPs follow the passes: the 400-word document needs more than one window
    assert len(compare.pass_lengths(span_model, too_long, bench_corpus.labels(4))) > 1
    assert sets["long/4/400"].flops[0] > 2 * sets["long/4/200"].flops[0] * 0.9

    gliner_job = compare.make_job(compare.PATHS["gliner"], "paragraphs", list(sets.values()), plan, Path("c"))
    assert gliner_job["runs"] == []
    job = compare.make_job(compare.PATHS["fp32"], "long", list(sets.values()), plan, Path("c"))
    assert [r["id"] for r in job["runs"]] == [
        "long/4/100/b8",
        "long/4/200/b8",
        "long/4/400/b1",
        "long/4/400/b8",
    ]
    assert all(not r["keep_entities"] for r in job["runs"])
    short_job = compare.make_job(compare.PATHS["gliner"], "short", list(sets.values()), plan, Path("c"))
    assert [r["batch_size"] for r in short_job["runs"]] == [1, 8] and short_job["runs"][0]["keep_entities"]
    assert short_job["texts"] == {"short/4": corpus.short}


def test_the_default_auto_path_is_benchmarked_and_compared_with_fp32():
    auto = compare.PATHS["auto"]
    assert (auto.engine, auto.precision, auto.runtime, auto.peak_dtype) == ("anyner", "auto", None, "fp32")
    job = compare.make_job(auto, "short", [], compare.QUICK, Path("c"))
    assert job["path"] == {"name": "anyner auto", "precision": "auto", "runtime": None}
    results = {("auto", "short"): {"picked": "fp32 on onnx"}, ("fp32", "short"): {}}
    assert compare.auto_picks(results) == "fp32 on onnx"
    assert compare.auto_picks({("auto", "short"): {"error": "exit 1"}}) is None


def test_machine_names_the_cpu_features_present_and_absent():
    m = compare.machine()
    assert m["cores"] >= 1 and isinstance(m["cpu"], str)
    names = set(m["cpu_features"]) | set(m["cpu_features_absent"])
    assert "AVX2" in names and "AMX-BF16" in names
    assert not set(m["cpu_features"]) & set(m["cpu_features_absent"])


def test_gliner_venv_never_clears_a_folder_that_is_not_a_venv(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit, match="not a virtual environment"):
        gliner_env.ensure_venv(tmp_path, log=lambda *_: None)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


# -- output -----------------------------------------------------------------------------
def _data(quick=False) -> dict:
    found = [[_e(0, 4, "person", 0.9)], [], [_e(2, 5, "date", 0.7)]]
    moved = [[_e(0, 4, "person", 0.9)], [_e(1, 2, "date", 0.6)], [_e(2, 5, "date", 0.7)]]
    rows, entities = [], {}
    for path, seconds, ents in (
        ("gliner", [0.1, 0.4], found),
        ("anyner auto", [0.02, 0.08], found),
        ("anyner fp32", [0.05, 0.2], found),
        ("anyner bf16", [0.04, 0.1], moved),
    ):
        m = bench_report.Measurement("short", 4, 8, path, 8, 80, seconds, 1e10, 400.0)
        rows.append(bench_report.summarise(m, 250.0))
        entities[(path, "short", 4, 8)] = ents
    long_m = bench_report.Measurement("long", 4, 8, "anyner fp32", 1, 100_000, [9.0], 1e12, 900.0)
    rows.append(bench_report.summarise(long_m, 250.0))
    rows = [r.to_dict() for r in compare.against_gliner(rows, entities)]
    return {
        "date": "2030-01-02",
        "command": "python benchmarks/compare.py",
        "quick": quick,
        "machine": {
            "cpu": "Some CPU",
            "cores": 2,
            "cpu_features": ["AVX2", "FMA"],
            "cpu_features_absent": ["AVX-512F", "AMX-BF16"],
            "python": "3.11",
        },
        "versions": {"anyner": "0.1.0", "gliner": "0.2.29"},
        "auto_picks": "fp32 on onnx",
        "threads": 2,
        "threshold": 0.01234,
        "threshold_note": "calibrated",
        "plan": {"batch_sizes": [1, 8], "long_batch_sizes": [8], "label_counts": [4, 16], "seconds": 6.0},
        "checkpoint": "a checkpoint",
        "encoder": {"layers": 6, "hidden": 384, "ffn": 1536},
        "matmul_peak_gflops": {"fp32": 250.0, "bf16": 575.0},
        "reference_peak_gflops": {"fp32": 255, "bf16": 580},
        "memory_limit_mb": 2048,
        "text_sets": [
            {
                "key": "short/4",
                "input": "short",
                "labels": 4,
                "texts": 8,
                "words": 80,
                "with_gliner": True,
                "note": "1 of 9 left out: gliner would truncate them",
            },
            {
                "key": "long/4/100000",
                "input": "long",
                "labels": 4,
                "texts": 1,
                "words": 100_000,
                "with_gliner": False,
                "note": "anyner only",
            },
        ],
        "rows": rows,
        "scaling": [bench_report.Scaling("anyner fp32", {25_000: 2.0, 100_000: 9.0}, 900.0).to_dict()],
        "failures": [],
    }


def test_section_has_machine_tables_ratios_and_the_flop_formula():
    text = bench_report.render_section(json.loads(json.dumps(_data())))
    assert text.startswith("## Side-by-side with gliner\n")
    assert "Measured 2030-01-02 on Some CPU (2 cores; AVX2, FMA; no AVX-512F, AMX-BF16), 2 threads" in text
    assert "here it ran fp32 on onnx." in text
    assert "Command: `python benchmarks/compare.py`" in text
    assert "fp32 250 GFLOP/s, bf16 575 GFLOP/s (reference for this machine: 255 and 580)" in text
    assert (
        "| 4 | 8 | anyner fp32 | 8 | 32.0 | 320 | 125.0 | 192.5 | 400 | 40.0 | 16 | 2.00× "
        "| identical (2 entities, 3 texts) | – |" in text
    )
    assert "| 4 | 8 | anyner auto | 8 | 80.0 |" in text
    assert "| 5.00× | identical (2 entities, 3 texts) | identical (2 entities, 3 texts) |" in text
    assert "| spans differ in 1/3 texts; max score diff 0.0e+00 | spans differ in 1/3 texts;" in text
    assert (
        "- anyner fp32: 2.00× gliner's throughput (short sentences, batch 8, 4 labels); "
        "entities identical to gliner's\n" in text
    )
    assert (
        "- anyner auto: 5.00× gliner's throughput (short sentences, batch 8, 4 labels); "
        "entities identical to gliner's, identical to anyner fp32's" in text
    )
    assert "entities not identical to gliner's, not identical to anyner fp32's" in text
    assert "2·T·(4h² + 2h·ffn) + 2·2·T²·h\n  (here 6 layers, h = 384, ffn = 1536)" in text
    assert "Threshold 0.01234 (calibrated); flat NER" in text
    assert "### One long document (100,000 words)" in text
    assert "| anyner fp32 | 2.00 | 9.00 | 1.12 | 900 | yes |" in text
    assert "- 4 labels: 1 of 9 left out" in text
    assert "smoke run" not in text
    assert "smoke run" in bench_report.render_section(_data(quick=True))


def test_section_replaces_only_its_own_markers(tmp_path):
    section = "## Side-by-side with gliner\n\nnew\n"
    assert bench_report.replace_section("", section).startswith("# Performance\n\n<!-- compare:start -->\n")
    other = "# Performance\n\n## Precision and runtimes\n\nkeep me\n"
    appended = bench_report.replace_section(other, section)
    assert appended.startswith(other) and appended.endswith("new\n<!-- compare:end -->\n")
    old = other + "\n<!-- compare:start -->\nold\n<!-- compare:end -->\n\n## After\n\nalso kept\n"
    replaced = bench_report.replace_section(old, section)
    assert "old" not in replaced and "keep me" in replaced and replaced.endswith("## After\n\nalso kept\n")
    assert replaced.count("<!-- compare:start -->") == 1
    assert bench_report.replace_section(replaced, section) == replaced
