"""For any unicode text: nothing raises, and every entity's offsets slice out its text."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anyner.text.words import split_words

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@SETTINGS
@given(text=texts)
def test_words_slice_the_text(text):
    w = split_words(text)
    assert all(
        text[s:e] == word and word.strip() for word, s, e in zip(w.words, w.starts, w.ends, strict=True)
    )
    assert w.starts == sorted(w.starts)


@SETTINGS
@given(text=texts, flat=st.booleans(), multi=st.booleans())
def test_span_model_offsets(span_model, text, flat, multi):
    _check(
        text,
        span_model.predict_entities(
            text, ["person", "thing"], threshold=0.3, flat_ner=flat, multi_label=multi
        ),
    )


@SETTINGS
@given(text=texts, flat=st.booleans())
def test_token_model_offsets(token_model, text, flat):
    _check(text, token_model.predict_entities(text, ["person", "thing"], threshold=0.3, flat_ner=flat))


def _check(text, entities):
    for e in entities:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["label"] in ("person", "thing")
