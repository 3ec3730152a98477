"""Any string Python can hold, as text or label, gives entities or a clear InputError, never a crash:
unpaired surrogates are read as U+FFFD with offsets into the caller's text, and labels that hold one
of the prompt's control tokens are refused."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anyner import InputError

CONTROL = ["<<ENT>>", "<<SEP>>", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]
# every code point, lone surrogates included, mixed with the prompt's markers and whitespace
pieces = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=8),
    st.sampled_from([*CONTROL, " ", "\ud800", "\udfff", "\ud83d\ude00", "\x00", "\u2028"]),
)
any_text = st.lists(pieces, max_size=24).map("".join)
any_labels = st.one_of(
    st.lists(st.lists(pieces, min_size=1, max_size=3).map("".join), min_size=1, max_size=4),
    st.dictionaries(any_text, any_text, min_size=1, max_size=3),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=any_text, labels=any_labels, threshold=st.floats(0, 1), flat=st.booleans(), multi=st.booleans())
def test_any_string_gives_entities_or_an_input_error(span_model, text, labels, threshold, flat, multi):
    try:
        entities = span_model.predict_entities(text, labels, threshold, flat_ner=flat, multi_label=multi)
    except InputError as exc:
        assert str(exc)
        return
    names = list(labels)
    for e in entities:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["label"] in names


def test_unpaired_surrogates_are_read_as_replacement_characters(span_model):
    text = "Bill \ud800Gates founded Micro\udfffsoft"
    clean = text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd")
    labels = {"person\ud800": "a person \udfff", "organization": "a company"}
    got = span_model.predict_entities(text, labels, threshold=0.0)
    want = span_model.predict_entities(
        clean, {"person\ud800": "a person \ufffd", "organization": "a company"}, 0.0
    )
    assert got and [(e["start"], e["end"], e["label"], e["score"]) for e in got] == [
        (e["start"], e["end"], e["label"], e["score"]) for e in want
    ]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in got)
    words = span_model.batch_predict_words([["Bill", "\ud800", "Gates"]], ["person"], threshold=0.0)
    assert words == span_model.batch_predict_words([["Bill", "\ufffd", "Gates"]], ["person"], threshold=0.0)


@pytest.mark.parametrize("token", CONTROL)
def test_a_label_holding_a_control_token_is_refused(span_model, token):
    with pytest.raises(
        InputError,
        match=re.escape(f"label 'my {token}' contains '{token}', one of the model's control tokens"),
    ):
        span_model.predict_entities("Bill Gates", [f"my {token}"])
    with pytest.raises(InputError, match="the description of label 'x' contains"):
        span_model.predict_entities("Bill Gates", {"x": f"a {token} b"})


def test_control_tokens_in_the_text_are_plain_words(span_model):
    text = "[CLS] Bill <<ENT>> Gates [SEP]"
    assert all(
        text[e["start"] : e["end"]] == e["text"] for e in span_model.predict_entities(text, ["x"], 0.0)
    )


@pytest.mark.parametrize("threshold", [np.float32(0.5), np.float64(0.25), np.int64(1)])
def test_numpy_thresholds_are_numbers(span_model, threshold):
    assert span_model.predict_entities("Bill Gates", ["person"], threshold=threshold) == (
        span_model.predict_entities("Bill Gates", ["person"], threshold=float(threshold))
    )


def test_a_model_path_that_is_a_file_says_so(tmp_path):
    import anyner
    from anyner import CheckpointError

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(CheckpointError, match="is a file; anyner loads a model folder: pass the folder"):
        anyner.load(weights)


def test_a_word_spelled_like_a_control_token_is_text_not_a_marker(span_model):
    builder = span_model.pipeline.builder
    ids = builder.encode_words(["[CLS]", "<<ENT>>", "word"]).ids
    assert ids[0] == ids[1] == builder.unk_id  # [UNK] is itself an added token: the only one left
    assert not set(ids.tolist()) & (set(builder.control_ids.tolist()) - {builder.unk_id})
    found = span_model.batch_predict_words([["[CLS]", "Bill", "<<SEP>>"]], ["person"], threshold=0.0)
    assert all(0 <= s <= e < 3 for s, e, _, _ in found[0])
