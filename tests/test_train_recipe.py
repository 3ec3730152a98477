"""The training recipe piece by piece: type sampling, batch targets, the loss, windowing of
training texts, and the errors a config or a training file can raise."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from anyner.data.example import Example
from anyner.errors import InputError
from anyner.train.config import DataSource, TrainConfig, config_from_dict, load_train_config
from anyner.train.losses import pair_loss
from anyner.train.prepare import PROMPT_RESERVE, prepare
from anyner.train.prompts import LabelPrompts, read_definitions
from anyner.train.targets import build_batch
from anyner.train.types import NegativePools, sample_types
from anyner.variants import get_variant

POOL = ["person", "organization", "location", "date", "city", "year", "drug", "disease", "event", "law"]


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# -- sample_types ---------------------------------------------------------------------------


def draw(
    own, seed, *, drop=0.3, fraction=0.5, max_types=25, pool=POOL, near=(), exclude=(), near_fraction=0.0
):
    pools = NegativePools(pool, near, frozenset(exclude), near_fraction)
    return sample_types(own, pools, np.random.default_rng(seed), fraction, drop, max_types)


def test_positives_are_kept_and_negatives_are_other_labels():
    own = ["person", "organization", "date"]
    for seed in range(200):
        types = draw(own, seed, drop=0.0)
        assert set(own) <= set(types)
        assert len(types) == len(set(types))
        assert set(types) <= set(POOL)
    # with negative_fraction 0 there is nothing else
    assert all(sorted(draw(own, s, drop=0.0, fraction=0.0)) == sorted(own) for s in range(50))


def test_negatives_never_include_the_examples_own_labels():
    own = ["person", "date"]
    pool = [*POOL, "person", "date", "person"]  # pools list labels once, but never trust that here
    for seed in range(300):
        types = draw(own, seed, drop=1.0, fraction=0.8, pool=pool)
        positives = [t for t in types if t in own]
        negatives = [t for t in types if t not in own]
        assert positives, "an example with entities keeps at least one of its own types"
        assert len(types) == len(set(types))
        assert not set(negatives) & set(own)


def test_type_drop_keeps_a_non_empty_subset():
    own = ["person", "organization", "date", "location"]
    kept = [len([t for t in draw(own, s, drop=1.0, fraction=0.0) if t in own]) for s in range(200)]
    assert min(kept) >= 1 and max(kept) == len(own) and min(kept) < len(own)
    # a single own type is never dropped
    assert all("person" in draw(["person"], s, drop=1.0) for s in range(100))


def test_at_most_max_types():
    own = POOL[:8]
    for seed in range(100):
        types = draw(own, seed, drop=0.0, fraction=0.9, max_types=5)
        assert len(types) <= 5
        assert set(types) <= set(own)  # no room is given to negatives before positives
    assert all(len(draw(["person"], s, fraction=0.9, max_types=3)) <= 3 for s in range(100))


def test_deterministic_for_a_seed_and_shuffled():
    own = ["person", "organization", "date"]
    assert draw(own, 7) == draw(own, 7)
    results = {tuple(draw(own, s, drop=0.0)) for s in range(50)}
    assert len(results) > 5
    firsts = {draw(own, s, drop=0.0, fraction=0.0)[0] for s in range(50)}
    assert firsts == set(own)  # the positives are not always in the order given


def test_an_example_without_entities_gets_negative_types():
    for seed in range(200):
        types = draw([], seed)
        assert 1 <= len(types) <= 5
        assert len(types) == len(set(types)) and set(types) <= set(POOL)
    assert all(len(draw([], s, max_types=1)) == 1 for s in range(20))


def test_near_misses_come_from_the_examples_own_data_set():
    near = ["actor", "director", "athlete", "politician", "soldier", "scholar", "painter", "writer"]
    counts = {"near": 0, "far": 0}
    for seed in range(300):
        types = draw(["actor"], seed, drop=0.0, fraction=0.8, near=near, near_fraction=0.75)
        for t in types:
            if t != "actor":
                counts["near" if t in near else "far"] += 1
    # three near misses for every other negative, roughly
    assert counts["near"] > 2 * counts["far"] > 0
    # near_fraction 0: the near pool is not used
    assert not any(
        set(draw(["actor"], s, fraction=0.8, near=near, near_fraction=0.0)) & set(near[1:])
        for s in range(100)
    )


def test_labels_a_partial_data_set_leaves_unlabelled_are_never_negatives():
    exclude = {"location", "city", "event"}
    for seed in range(300):
        types = draw(
            ["person"], seed, fraction=0.9, exclude=exclude, near=["city", "date"], near_fraction=0.5
        )
        assert "person" in types
        assert not set(types) & exclude


# -- label prompts ---------------------------------------------------------------------------


def test_definitions_replace_labels_sometimes_and_within_the_prompt_budget(span_model):
    builder = span_model.pipeline.builder
    definitions = {"person": "a human being, named", "date": "a day, month or year " * 20}
    prompts = LabelPrompts(definitions, 0.5, builder, budget=40)
    shown = [prompts(["person", "date", "city"], np.random.default_rng(s)) for s in range(200)]
    assert all(p[2] == "city" for p in shown)  # no definition: always the label
    persons = [p[0] for p in shown]
    assert 40 < persons.count("a human being, named") < 160 and "person" in persons
    assert all(p[1] == "date" for p in shown)  # its definition never fits 40 tokens
    assert all(builder.prompt_length(p) <= 40 for p in shown)
    off = LabelPrompts(definitions, 0.0, builder, budget=400)
    assert all(off(["person"], np.random.default_rng(s)) == ["person"] for s in range(20))


def test_bad_definitions_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_definitions(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        read_definitions(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text('["a"]')
    with pytest.raises(InputError, match="label -> definition"):
        read_definitions(tmp_path / "list.json")
    (tmp_path / "ok.json").write_text('{"person": " someone "}')
    assert read_definitions(tmp_path / "ok.json") == {"person": "someone"}


# -- build_batch -----------------------------------------------------------------------------

EXAMPLES = [
    Example(["bill", "gates", "founded", "microsoft"], [(0, 1, "person"), (3, 3, "organization")]),
    Example(["new", "york"], [(0, 1, "location")]),
]
TYPES = [["organization", "person", "date"], ["location"]]


def batch_for(model, variant, max_width, examples=EXAMPLES, types=TYPES):
    predictor = model.pipeline
    return build_batch(examples, types, predictor.builder, predictor.pad_id, get_variant(variant), max_width)


def test_span_targets_and_mask(span_model):
    batch = batch_for(span_model, "uni-span", 3)
    assert batch.targets.shape == batch.mask.shape == (2, 4, 3, 3)  # (B, W, K, C)
    expected = torch.zeros(2, 4, 3, 3)
    expected[0, 0, 1, 1] = 1  # "bill gates": start 0, width index 1, type "person" (index 1)
    expected[0, 3, 0, 0] = 1  # "microsoft": organization (index 0)
    expected[1, 0, 1, 0] = 1  # "new york": location
    assert torch.equal(batch.targets, expected)
    mask = batch.mask
    assert mask.dtype == torch.bool
    # spans ending past the text are out: example 0 has 4 words, example 1 has 2
    assert mask[0, 0, :, 0].all() and mask[0, 1, :, 0].all()
    assert mask[0, 2, :2, 0].all() and not mask[0, 2, 2].any()
    assert mask[0, 3, 0, 0] and not mask[0, 3, 1:].any()
    assert mask[1, 0, :2, 0].all() and not mask[1, 0, 2].any()
    assert mask[1, 1, 0, 0] and not mask[1, 1, 1:].any()
    assert not mask[1, 2:].any()  # padded words
    assert not mask[1, :, :, 1:].any()  # padded types: example 1 has one
    assert int(mask.sum()) == 9 * 3 + 3 * 1
    assert not (batch.targets * ~mask).any()
    assert batch.inputs["word_lengths"].tolist() == [4, 2]
    assert "type_counts" not in batch.inputs


def test_span_targets_skip_types_not_asked_and_too_long_mentions(span_model):
    examples = [Example(["a", "b", "c", "d"], [(0, 3, "event"), (1, 1, "person"), (2, 2, "date")])]
    batch = batch_for(span_model, "uni-span", 3, examples, [["person", "event"]])
    assert batch.targets.sum() == 1  # "event" is 4 words > max_width; "date" was not asked
    assert batch.targets[0, 1, 0, 0] == 1


def test_token_targets_and_mask(token_model):
    batch = batch_for(token_model, "uni-token", 3)
    assert batch.targets.shape == batch.mask.shape == (2, 4, 3, 3)  # (B, W, C, start/end/inside)
    expected = torch.zeros(2, 4, 3, 3)
    expected[0, 0, 1, 0] = expected[0, 1, 1, 1] = 1  # person: start at 0, end at 1
    expected[0, 0:2, 1, 2] = 1  # inside 0..1
    expected[0, 3, 0, :] = 1  # microsoft: start, end and inside at 3
    expected[1, 0, 0, 0] = expected[1, 1, 0, 1] = 1
    expected[1, 0:2, 0, 2] = 1
    assert torch.equal(batch.targets, expected)
    mask = batch.mask
    assert mask[0].all()
    assert mask[1, :2, 0].all() and not mask[1, 2:].any() and not mask[1, :, 1:].any()
    assert int(mask.sum()) == 4 * 3 * 3 + 2 * 1 * 3


@pytest.mark.parametrize("fixture", ["span_model", "token_model"])
def test_targets_line_up_with_the_models_logits(request, fixture):
    model = request.getfixturevalue(fixture)
    config = model.model.config
    batch = batch_for(model, config.variant, config.max_width)
    with torch.no_grad():
        logits = model.model(**batch.inputs)
    assert logits.shape == batch.targets.shape
    assert torch.isfinite(pair_loss(logits, batch.targets, batch.mask))


# -- pair_loss -------------------------------------------------------------------------------


def loss_inputs(seed=0, shape=(3, 5, 4, 2)):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g) * 3
    targets = (torch.rand(shape, generator=g) < 0.3).float()
    mask = torch.rand(shape, generator=g) < 0.7
    return logits, targets, mask


def test_bce_is_summed_over_valid_pairs_and_averaged_over_the_batch():
    logits, targets, mask = loss_inputs()
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    expected = bce[mask].sum() / logits.size(0)
    assert torch.allclose(pair_loss(logits, targets, mask), expected, rtol=1e-6)
    # masked entries do not matter, whatever their logits
    moved = torch.where(mask, logits, torch.full_like(logits, 50.0))
    assert torch.allclose(pair_loss(moved, targets, mask), expected, rtol=1e-6)
    assert pair_loss(logits, targets, torch.zeros_like(mask)) == 0


def test_focal_loss():
    logits, targets, mask = loss_inputs(1)
    bce = pair_loss(logits, targets, mask)
    assert torch.allclose(pair_loss(logits, targets, mask, focal=(0.5, 0.0)), bce / 2, rtol=1e-6)
    # the textbook formula, written out
    alpha, gamma = 0.75, 2.0
    p = torch.sigmoid(logits.double())
    t = targets.double()
    each = -(
        alpha * t * (1 - p) ** gamma * torch.log(p) + (1 - alpha) * (1 - t) * p**gamma * torch.log(1 - p)
    )
    expected = (each * mask).sum() / logits.size(0)
    assert torch.allclose(
        pair_loss(logits, targets, mask, focal=(alpha, gamma)).double(), expected, rtol=1e-5
    )


def test_loss_of_bf16_logits_is_computed_in_float32():
    logits, targets, mask = loss_inputs(2)
    loss = pair_loss(logits.bfloat16(), targets, mask)
    assert loss.dtype == torch.float32
    assert torch.allclose(loss, pair_loss(logits.bfloat16().float(), targets, mask))


# -- prepare ---------------------------------------------------------------------------------

VOCAB = ["bill", "gates", "founded", "microsoft", "in", "albuquerque", "on", "april", "the", "of", "and"]


def long_record(n=300, spans=((0, 0), (48, 51), (99, 100), (148, 152), (230, 231), (299, 299))):
    words = [VOCAB[i % len(VOCAB)] for i in range(n)]
    labels = ["person", "organization", "date", "location"]
    return {"tokenized_text": words, "ner": [[s, e, labels[i % 4]] for i, (s, e) in enumerate(spans)]}


def test_prepare_cuts_long_texts_into_windows_without_splitting_mentions(tmp_path, span_model):
    record = long_record()
    short = {"tokenized_text": ["bill", "gates"], "ner": [[0, 1, "person"]]}
    path = write_jsonl(tmp_path / "train.jsonl", [record, short])
    builder = span_model.pipeline.builder
    data = prepare([DataSource(str(path))], builder, max_words=50, max_width=4, seed=0)

    windows = data.examples[:-1]
    assert data.examples[-1].words == short["tokenized_text"]
    assert len(windows) >= 6
    assert all(1 <= len(w.words) <= 50 for w in windows)
    assert [word for w in windows for word in w.words] == record["tokenized_text"]  # nothing lost
    found, offset = [], 0
    for w in windows:
        found += [[s + offset, e + offset, label] for s, e, label in w.spans]
        offset += len(w.words)
    assert found == record["ner"]
    assert data.report["texts"] == 2
    assert data.report["windowed_texts"] == 1
    assert data.report["mentions_cut_by_windows"] == 0
    assert data.report["examples"] == len(data.examples)
    assert data.report["mentions"] == 7
    assert data.report["mentions_longer_than_max_width"] == 1  # words 148..152
    assert data.labels == ["date", "location", "organization", "person"]


def test_prepare_reports_what_windows_had_to_cut(tmp_path, span_model):
    path = write_jsonl(tmp_path / "train.jsonl", [long_record(120, spans=((10, 80), (90, 90)))])
    data = prepare([DataSource(str(path))], span_model.pipeline.builder, 50, None, 0)
    assert all(len(w.words) <= 50 for w in data.examples)
    assert sum(len(w.words) for w in data.examples) == 120
    assert data.report["mentions_cut_by_windows"] == 1  # a 71-word mention cannot fit in 50 words
    assert data.report["mentions"] == 1
    assert "mentions_longer_than_max_width" not in data.report


def test_prepare_windows_respect_the_token_budget(tmp_path, span_model):
    builder = span_model.pipeline.builder
    words = ["xqzvkwj" + str(i % 10) for i in range(100)]  # out of vocabulary: one token a letter
    path = write_jsonl(tmp_path / "train.jsonl", [{"tokenized_text": words, "ner": [[5, 6, "thing"]]}])
    data = prepare([DataSource(str(path))], builder, 1000, None, 0)
    budget = builder.max_tokens - builder.special_count - PROMPT_RESERVE
    assert len(data.examples) > 1
    for w in data.examples:
        assert int(builder.encode_words(w.words).counts.sum()) <= budget
    assert [x for w in data.examples for x in w.words] == words


def test_prepare_samples_max_examples_per_source(tmp_path, span_model):
    records = [
        {"tokenized_text": ["bill", VOCAB[i % 11], str(i)], "ner": [[0, 0, "person"]]} for i in range(30)
    ]
    path = write_jsonl(tmp_path / "train.jsonl", records)
    builder = span_model.pipeline.builder
    a = prepare([DataSource(str(path), max_examples=5)], builder, 50, None, seed=1)
    b = prepare([DataSource(str(path), max_examples=5)], builder, 50, None, seed=1)
    c = prepare([DataSource(str(path), max_examples=5)], builder, 50, None, seed=2)
    assert len(a.examples) == 5 and a.report["texts"] == 30
    assert [x.words for x in a.examples] == [x.words for x in b.examples]
    assert [x.words for x in a.examples] != [x.words for x in c.examples]
    order = [int(x.words[2]) for x in a.examples]
    assert order == sorted(order)  # the file's order is kept


# -- config and data errors ------------------------------------------------------------------


def test_unknown_config_key_is_named(tmp_path):
    with pytest.raises(InputError, match=r"unknown training config key\(s\) \['stepz'\]"):
        config_from_dict({"output_dir": "out", "train": ["t.jsonl"], "stepz": 5}, base=tmp_path)
    with pytest.raises(InputError, match="maxexamples"):
        config_from_dict({"output_dir": "out", "train": [{"path": "t.jsonl", "maxexamples": 3}]})
    with pytest.raises(InputError, match="rank"):
        config_from_dict({"output_dir": "out", "train": ["t.jsonl"], "lora": {"rank": 8}})


@pytest.mark.parametrize(
    ("key", "value"),
    [("steps", 0), ("batch_size", -1), ("negative_fraction", 1.0), ("type_drop_prob", 1.5), ("train", [])],
)
def test_bad_config_values_are_named(key, value):
    with pytest.raises(InputError, match=rf"invalid training config value\(s\): {key}="):
        config_from_dict({"output_dir": "out", "train": ["t.jsonl"], key: value})


def test_bad_architecture_or_type_is_an_input_error():
    with pytest.raises(InputError, match="tokens"):
        config_from_dict({"output_dir": "out", "train": ["t.jsonl"], "architecture": "tokens"})
    with pytest.raises(InputError, match="a data source must be a path"):
        config_from_dict({"output_dir": "out", "train": [3]})


def test_config_files_resolve_paths_from_their_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    yaml_path = tmp_path / "conf" / "train.yaml"
    yaml_path.write_text("output_dir: runs/a\ntrain: data/train.jsonl\nsteps: 7\narchitecture: token\n")
    cfg = load_train_config(yaml_path)
    assert isinstance(cfg, TrainConfig)
    assert cfg.output_dir == str(tmp_path / "conf" / "runs" / "a")
    assert cfg.train == (DataSource(str(tmp_path / "conf" / "data" / "train.jsonl")),)
    assert cfg.steps == 7 and cfg.variant == "uni-token"  # the key before variants still reads
    toml_path = tmp_path / "conf" / "train.toml"
    toml_path.write_text('output_dir = "o"\n[[train]]\npath = "t.jsonl"\nmax_examples = 4\n')
    assert load_train_config(toml_path).train == (DataSource(str(tmp_path / "conf" / "t.jsonl"), 4),)
    broken = tmp_path / "broken.yaml"
    broken.write_text("output_dir: [unclosed\n")
    with pytest.raises(InputError, match=r"broken\.yaml is not valid YAML"):
        load_train_config(broken)
    with pytest.raises(InputError, match="does not exist"):
        load_train_config(tmp_path / "missing.toml")


GOOD = {"tokenized_text": ["bill", "gates"], "ner": [[0, 1, "person"]]}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"tokenized_text": ["bill", "gates"], "ner": [[0, 2, "person"]]}, "end 2 is past the last word"),
        ({"tokenized_text": ["bill", "gates"], "ner": [[0, 1, 7]]}, "label is a number, not a string"),
        ({"tokenized_text": ["bill"], "ner": [[-1, 0, "person"]]}, "start -1 is negative"),
    ],
)
def test_bad_training_file_names_file_and_line(tmp_path, span_model, bad, reason):
    path = write_jsonl(tmp_path / "train.jsonl", [GOOD, GOOD, bad, GOOD])
    with pytest.raises(InputError) as info:
        prepare([DataSource(str(path))], span_model.pipeline.builder, 50, None, 0)
    message = str(info.value)
    assert f"{path}:3:" in message
    assert reason in message


def test_empty_or_missing_training_file(tmp_path, span_model):
    builder = span_model.pipeline.builder
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match=rf"{re.escape(str(empty))}: error: the file is empty"):
        prepare([DataSource(str(empty))], builder, 50, None, 0)
    with pytest.raises(InputError, match=r"nope\.jsonl"):
        prepare([DataSource(str(tmp_path / "nope.jsonl"))], builder, 50, None, 0)


def test_trainer_stops_on_a_bad_training_file(tmp_path, tiny_backbone):
    from anyner.train.trainer import Trainer

    path = write_jsonl(tmp_path / "train.jsonl", [GOOD, {"tokenized_text": ["x"], "ner": [[0, 3, "person"]]}])
    cfg = config_from_dict(
        {
            "output_dir": str(tmp_path / "out"),
            "train": [str(path)],
            "backbone": str(tiny_backbone),
            "threads": 1,
        }
    )
    with pytest.raises(
        InputError, match=rf"{re.escape(str(path))}:2: error: entity 0 .*end 3 is past the last word"
    ):
        Trainer(cfg)
    unlabelled = write_jsonl(tmp_path / "none.jsonl", [{"tokenized_text": ["x"], "ner": []}])
    with pytest.raises(InputError, match="no labelled mentions"):
        Trainer(config_from_dict({**cfg.to_dict(), "train": [str(unlabelled)], "dev": []}))


def test_overrides_replace_fields_and_refuse_unknown_ones(tmp_path):
    from anyner.train.config import apply_overrides

    cfg = config_from_dict({"output_dir": str(tmp_path), "train": ["x.jsonl"]})
    changed = apply_overrides(cfg, ["loss=focal", "steps=7", "bf16=auto", "definition_prob=0.25"])
    assert (changed.loss, changed.steps, changed.bf16, changed.definition_prob) == ("focal", 7, "auto", 0.25)
    assert changed.train == cfg.train
    for bad, message in [
        ("nope=1", "KEY=VALUE"),
        ("steps", "KEY=VALUE"),
        ("train=[]", "KEY=VALUE"),
        ("steps=0", "steps=0"),
        ("device=tpu", "device"),
    ]:
        with pytest.raises(InputError, match=message):
            apply_overrides(cfg, [bad])


def test_bf16_auto_follows_the_device_and_the_cpu(tmp_path, monkeypatch):
    from anyner.runtime import cpu

    cfg = config_from_dict({"output_dir": str(tmp_path), "train": ["x.jsonl"]})
    assert cfg.bf16 == "auto" and cfg.resolved_bf16("cuda") is True
    for native in (True, False):
        flags = frozenset({"avx2", "avx512_bf16"} if native else {"avx2"})
        monkeypatch.setattr(cpu, "cpu_info", lambda flags=flags: cpu.CpuInfo("test", flags))
        assert cfg.resolved_bf16("cpu") is native
    assert config_from_dict({"output_dir": ".", "train": ["x"], "bf16": False}).resolved_bf16("cuda") is False
