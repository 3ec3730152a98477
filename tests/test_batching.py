"""Batches by token budget with length bucketing; padding; labels tokenized once."""

import numpy as np
import pytest

from anyner import AnyNER, InputError
from anyner.runtime.batching import bucket, collate
from anyner.text.prompt import EncoderInput

TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
LABELS = ["person", "organization", "date", "location"]


def test_bucket_sorts_by_length_and_respects_both_limits():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, 300).tolist()
    batches = bucket(lengths, max_passes=8, max_tokens=600)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(300))  # every pass exactly once
    assert [lengths[i] for i in flat] == sorted(lengths)  # shortest first
    for b in batches:
        assert len(b) <= 8
        assert len(b) * max(lengths[i] for i in b) <= 600
    # short passes share a call up to the count limit, long ones fewer per call
    sizes = {len(b) for b in batches}
    assert 8 in sizes and min(sizes) < 8


def test_bucket_fills_batches_greedily():
    assert [b.tolist() for b in bucket([10, 10, 10, 10], 3, 1000)] == [[0, 1, 2], [3]]
    assert [b.tolist() for b in bucket([10, 30, 20], 8, 60)] == [[0, 2], [1]]


def test_a_pass_longer_than_the_budget_goes_alone():
    assert [b.tolist() for b in bucket([5, 500, 5], 8, 100)] == [[0, 2], [1]]
    assert bucket([], 8, 100) == []


def test_collate_pads_and_masks():
    a = EncoderInput([1, 2, 3, 4, 5], [3, 4], [1])
    b = EncoderInput([1, 2, 3], [2], [0, 1])
    batch = collate([a, b], pad_id=9)
    assert batch.input_ids.tolist() == [[1, 2, 3, 4, 5], [1, 2, 3, 9, 9]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch.word_positions.tolist() == [[3, 4], [2, 0]]
    assert batch.word_lengths.tolist() == [2, 1]
    assert batch.type_positions.tolist() == [[1, 0], [0, 1]]
    assert batch.type_counts.tolist() == [1, 2]
    assert all(x.dtype == np.int64 for x in batch.model_inputs().values())
    assert batch.label_vectors is None and batch.type_index is None


def test_collate_lays_out_a_bi_encoders_distinct_labels_and_indices():
    a = EncoderInput([1, 2, 3], [1, 2], [])
    b = EncoderInput([1, 2], [1], [])
    vectors = np.arange(12, dtype=np.float64).reshape(3, 4)
    batch = collate([a, b], pad_id=0, labels=(vectors, [np.array([0, 1, 2]), np.array([2])]))
    assert batch.type_counts.tolist() == [3, 1]
    assert batch.type_index.tolist() == [[0, 1, 2], [2, 0, 0]]
    assert batch.label_vectors.dtype == np.float32 and batch.label_vectors.shape == (3, 4)
    assert list(batch.model_inputs()) == [
        "input_ids",
        "attention_mask",
        "word_positions",
        "word_lengths",
        "label_vectors",
        "type_index",
        "type_counts",
    ]


@pytest.mark.parametrize("model_name", ["span_model", "token_model"])
def test_results_do_not_depend_on_how_passes_are_batched(model_name, request):
    model = request.getfixturevalue(model_name)
    texts = [TEXT, "New York City is big.", "", "Albuquerque " * 60, "a", TEXT * 3]
    wide = model.batch_predict_entities(texts, LABELS, threshold=0.0, batch_size=64, batch_tokens=100_000)
    alone = model.batch_predict_entities(texts, LABELS, threshold=0.0, batch_size=1)
    tight = model.batch_predict_entities(texts, LABELS, threshold=0.0, batch_size=8, batch_tokens=64)
    assert wide[2] == [] and all(wide[i] for i in (0, 1, 3, 4, 5))
    for a, b, c in zip(wide, alone, tight, strict=True):
        keys = [(e["start"], e["end"], e["label"]) for e in a]
        assert keys == [(e["start"], e["end"], e["label"]) for e in b]
        assert keys == [(e["start"], e["end"], e["label"]) for e in c]
        assert all(abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["batch_size", "batch_tokens"])
@pytest.mark.parametrize("value", [0, -1, 2.5, True, "8"])
def test_bad_batch_limits_are_input_errors(span_model, name, value):
    with pytest.raises(InputError, match=name):
        span_model.batch_predict_entities([TEXT], LABELS, **{name: value})


def test_each_label_is_tokenized_once(span_model):
    model = AnyNER(span_model.model, span_model.tokenizer)  # fresh caches
    texts = [TEXT, "New York City is big.", "Albuquerque " * 10]
    model.batch_predict_entities(texts, LABELS, threshold=0.5)
    model.batch_predict_entities(texts, [*LABELS, "city"], threshold=0.5)
    model.batch_predict_entities(texts, {"PER": "person", "LOC": "city"}, threshold=0.5)
    # misses are the calls that reach the tokenizer: one per distinct label
    assert model.pipeline.builder._label_ids.cache_info().misses == len(LABELS) + 1
