"""Precision and runtime options, bf16 autocast, threads, and the word-level prediction API."""

import os

import numpy as np
import pytest
import torch

import anyner
from anyner import AnyNER, InputError
from anyner.runtime.options import RuntimeOptions, resolve_options
from anyner.runtime.threads import physical_cores
from anyner.runtime.torch_runner import set_torch_threads
from anyner.text.labels import parse_labels
from anyner.text.words import split_words

TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
LABELS = ["person", "organization", "date", "location"]


@pytest.mark.parametrize(
    "options,match",
    [
        ({"precision": "fp16"}, r"precision must be one of 'auto', 'fp32', 'bf16', 'int8', got 'fp16'"),
        ({"runtime": "tensorrt"}, r"runtime must be one of 'torch', 'onnx', got 'tensorrt'"),
        ({"precision": "int8", "runtime": "torch"}, "runs on onnxruntime"),
        ({"precision": "bf16", "runtime": "onnx"}, "runs on torch"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"threads": 1.5}, "threads must be a positive integer"),
        ({"precision": ["fp32"]}, "precision must be one of"),
    ],
)
def test_bad_options_are_input_errors_naming_the_choices(span_model, options, match):
    with pytest.raises(InputError, match=match):
        AnyNER(span_model.model, span_model.tokenizer, **options)


def test_bad_options_fail_before_a_folder_is_read(tmp_path):
    with pytest.raises(InputError, match="precision must be one of"):
        anyner.load(tmp_path, precision="int4")  # not a model folder: the option is checked first


def _concrete(options: RuntimeOptions) -> tuple:
    return options.precision, options.runtime, options.threads, options.auto


def test_options_are_completed():
    assert resolve_options("int8", None, 2) == RuntimeOptions("int8", "onnx", 2)
    assert resolve_options("bf16", None, None) == RuntimeOptions("bf16", "torch", None)
    assert _concrete(resolve_options("auto", "onnx", None)) == ("fp32", "onnx", None, False)
    assert _concrete(resolve_options(None, "torch", 1)) == ("fp32", "torch", 1, False)
    # a model built in code: auto runs it on torch
    assert _concrete(resolve_options("auto", None, None, torch_only="why")) == ("fp32", "torch", None, True)
    # an exported folder: its own precision and runtime unless told otherwise
    assert _concrete(resolve_options("auto", None, None, exported="int8")) == ("int8", "onnx", None, False)
    assert resolve_options(None, None, None, exported="fp32").reason == "an ONNX export runs as exported"


def _probs(model, labels=LABELS):
    predictor = model.pipeline
    from anyner.runtime.batching import collate

    passes = predictor.plan(0, split_words(TEXT), parse_labels(labels))
    with predictor.runner.session() as run:
        return run(collate([p.inputs for p in passes], predictor.pad_id))


def test_bf16_runs_under_autocast_and_stays_close(span_model):
    bf16 = AnyNER(span_model.model, span_model.tokenizer, precision="bf16")
    assert (bf16.precision, bf16.runtime) == ("bf16", "torch")
    a, b = _probs(span_model), _probs(bf16)
    assert a.dtype == b.dtype == np.float32
    diff = np.abs(a - b).max()
    assert 0 < diff < 0.05  # bf16 rounds (so it really ran in bf16), but only a little
    got = bf16.predict_entities(TEXT, LABELS, threshold=0.0)
    assert got and all(TEXT[e["start"] : e["end"]] == e["text"] for e in got)
    assert not torch.is_autocast_enabled("cpu")  # nothing leaks out of the run


def test_a_run_leaves_the_training_mode_as_it_was(span_model):
    model = span_model.model
    model.train()
    try:
        span_model.predict_entities(TEXT, LABELS)
        assert model.training
    finally:
        model.eval()


def test_threads():
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    before = torch.get_num_threads()
    try:
        set_torch_threads(1)
        assert torch.get_num_threads() == 1
        set_torch_threads(None)  # keeps the caller's (lower) setting
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_threads_option_sets_torch_threads(span_model):
    before = torch.get_num_threads()
    try:
        AnyNER(span_model.model, span_model.tokenizer, threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_word_level_predictions_match_character_level(span_model):
    words = split_words(TEXT)
    by_words = span_model.batch_predict_words([words.words, []], LABELS, threshold=0.3)
    by_chars = span_model.batch_predict_entities([TEXT, ""], LABELS, threshold=0.3)
    assert by_words[1] == [] and by_chars[1] == []
    assert by_words[0] and [
        (words.starts[s], words.ends[e], label, score) for s, e, label, score in by_words[0]
    ] == [(e["start"], e["end"], e["label"], e["score"]) for e in by_chars[0]]


@pytest.mark.parametrize("texts", ["bill gates", ["bill gates"], [["bill", 3]]])
def test_word_level_input_must_be_lists_of_words(span_model, texts):
    with pytest.raises(InputError, match="list"):
        span_model.batch_predict_words(texts, LABELS)
