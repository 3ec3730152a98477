"""Shared by several test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

# small GLiNER-format training data: (words, [[start, end inclusive, label], ...])
TRAIN_LINES = [
    (["Bill", "Gates", "founded", "Microsoft"], [[0, 1, "person"], [3, 3, "organization"]]),
    (["Microsoft", "is", "in", "Albuquerque"], [[0, 0, "organization"], [3, 3, "location"]]),
    (["New", "York", "City", "is", "big"], [[0, 2, "location"]]),
    (["Gates", "founded", "it", "on", "April", "4"], [[0, 0, "person"], [4, 5, "date"]]),
    (["the", "city", "of", "New", "York"], [[3, 4, "location"]]),
    (["a", "big", "organization", "and", "a", "person"], []),
    (
        ["Bill", "and", "Gates", "of", "Microsoft", "in", "April"],
        [[0, 0, "person"], [2, 2, "person"], [4, 4, "organization"], [6, 6, "date"]],
    ),
    (["Albuquerque", "on", "April", "4", "1975"], [[0, 0, "location"], [2, 4, "date"]]),
    (["Microsoft", "founded", "a", "city"], [[0, 0, "organization"]]),
    (["April", "is", "a", "date"], [[0, 0, "date"]]),
    (["the", "person", "Bill", "Gates", "is", "in", "New", "York"], [[2, 3, "person"], [6, 7, "location"]]),
    (["Paris", "is", "big"], [[0, 0, "city"]]),
    (["Tesla", "founded", "in", "2003"], [[0, 0, "organization"], [3, 3, "year"]]),
    (
        ["Elon", "Musk", "runs", "Tesla", "and", "SpaceX"],
        [[0, 1, "person"], [3, 3, "organization"], [5, 5, "organization"]],
    ),
    (["aspirin", "treats", "headache"], [[0, 0, "drug"], [2, 2, "disease"]]),
    (["ibuprofen", "and", "aspirin"], [[0, 0, "drug"], [2, 2, "drug"]]),
    (["the", "flu", "is", "a", "disease"], [[1, 1, "disease"]]),
    (["Berlin", "and", "Paris", "in", "1990"], [[0, 0, "city"], [2, 2, "city"], [4, 4, "year"]]),
    (["of", "the", "and", "a"], []),
    (["Musk", "in", "Berlin", "on", "April", "4"], [[0, 0, "person"], [2, 2, "city"], [4, 5, "date"]]),
]


def assert_user_error(result, *fragments: str) -> str:
    """Exit 2 with exactly one `error: ...` line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit | type(None)), result.exception
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in err, err
    return err


# two tiny LoRA adapters, "en" and "de", and a router whose bank is their support texts
ROUTED_SUPPORT = {
    "en": [{"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]}],
    "de": [{"tokenized_text": ["april", "in", "new", "york", "city"], "ner": [[2, 4, "location"]]}],
}


def routed_model(tiny_backbone):
    """A tiny model with adapters "en" and "de" and a router over their support texts (a bank
    text's nearest neighbour is itself, so each routes to its own adapter)."""
    from dataclasses import replace

    import torch

    from anyner import AnyNER
    from anyner.adapters import AdaptSettings
    from anyner.adapters.router import RouterSettings

    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    fast = replace(AdaptSettings(), lora=replace(AdaptSettings().lora, steps=5))
    texts, tags = [], []
    for lang, support in ROUTED_SUPPORT.items():
        model.adapt(support, name=lang, method="lora", settings=fast, evaluate=False)
        texts += [" ".join(x["tokenized_text"]) for x in support]
        tags += [lang] * len(support)
    model.build_router(texts, tags, RouterSettings(margin=0.0))
    model.set_adapter("auto")  # as a model folder with a router loads
    return model
