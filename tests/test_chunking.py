"""Long texts run through overlapping windows; results come back once, with document offsets."""

import pytest
import torch
from torch import nn

from anyner import AnyNER
from anyner.config import ModelConfig
from anyner.text.labels import parse_labels
from anyner.text.words import split_words
from anyner.variants import get_variant


class NewYorkModel(nn.Module):
    """Stands in for the network: scores the span "new york" high for every type and nothing
    else, reading the words from the real encoder inputs the pipeline builds."""

    def __init__(self, config: ModelConfig, new_id: int, york_id: int):
        super().__init__()
        self.config = config
        self.new_id, self.york_id = new_id, york_id
        self.calls = 0

    def forward(self, input_ids, attention_mask, word_positions, word_lengths, type_positions):
        self.calls += input_ids.size(0)
        words = input_ids.gather(1, word_positions)  # first sub-token of each word
        b, w = words.shape
        logits = torch.full((b, w, self.config.max_width, type_positions.size(1)), -10.0)
        is_new = words[:, :-1] == self.new_id
        is_york = words[:, 1:] == self.york_id
        logits[:, :-1, 1, :][is_new & is_york] = 10.0  # width index 1: two words
        return logits


@pytest.fixture()
def windowed(span_model):
    config = ModelConfig(
        **{**span_model.config.to_dict(), "max_words": 16, "window_overlap": 6, "max_tokens": 512}
    )
    tok = span_model.tokenizer
    fake = NewYorkModel(config, tok.convert_tokens_to_ids("new"), tok.convert_tokens_to_ids("york"))
    return AnyNER(fake, tok), fake


@pytest.mark.parametrize("position", range(0, 45))
def test_entity_across_window_boundaries_is_found_once(windowed, position):
    model, fake = windowed
    words = ["a"] * 48
    words[position : position + 2] = ["New", "York"]
    text = " ".join(words)
    # multi-label + nested keeps duplicates of the same span and label, so a doubled entity would show
    out = model.predict_entities(text, ["city", "place"], threshold=0.5, flat_ner=False, multi_label=True)
    start = 2 * position
    assert [(e["start"], e["end"], e["text"], e["label"]) for e in out] == [
        (start, start + 8, "New York", "city"),
        (start, start + 8, "New York", "place"),
    ]
    assert fake.calls > 3  # the text really went through several windows


def test_windows_respect_the_token_budget(span_model):
    config = ModelConfig(**{**span_model.config.to_dict(), "max_tokens": 40})
    net = get_variant(config.variant).build_model(config, span_model.model.encoder.model)
    model = AnyNER(net, span_model.tokenizer)
    text = " ".join(["albuquerque"] * 200)
    passes = model.pipeline.plan(0, split_words(text), parse_labels(["person"]))
    assert len(passes) > 1
    assert all(len(p.inputs.input_ids) <= 40 for p in passes)
