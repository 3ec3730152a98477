import numpy as np
import torch

from anyner.decode import select, span_candidates, token_candidates


def _select(spans, flat, multi_label):
    start, end, label, score = (np.array(x) for x in zip(*spans, strict=True))
    return [spans[i] for i in select(start, end, label, score.astype(np.float32), flat, multi_label)]


SPANS = [  # (start, end, label, score)
    (0, 1, 0, 0.9),  # "New York"
    (0, 2, 1, 0.8),  # "New York City": contains the first
    (1, 1, 0, 0.7),  # "York": nested in both
    (1, 3, 0, 0.6),  # partly overlaps (0, 2)
    (0, 1, 1, 0.5),  # same span as the first, other label
    (5, 5, 2, 0.4),
]


def test_flat_keeps_best_non_overlapping():
    assert _select(SPANS, flat=True, multi_label=False) == [(0, 1, 0, 0.9), (5, 5, 2, 0.4)]


def test_nested_allows_nesting_but_not_partial_overlap():
    assert _select(SPANS, flat=False, multi_label=False) == [
        (0, 1, 0, 0.9),
        (0, 2, 1, 0.8),
        (1, 1, 0, 0.7),
        (5, 5, 2, 0.4),
    ]


def test_multi_label_keeps_same_span_under_several_labels():
    assert _select(SPANS, flat=True, multi_label=True) == [(0, 1, 0, 0.9), (0, 1, 1, 0.5), (5, 5, 2, 0.4)]


def test_equal_scores_prefer_leftmost_then_shortest():
    spans = [(2, 3, 0, 0.5), (1, 2, 0, 0.5), (1, 1, 0, 0.5)]
    assert _select(spans, flat=True, multi_label=False) == [(1, 1, 0, 0.5), (2, 3, 0, 0.5)]


def test_select_empty():
    assert select(*(np.zeros(0, np.int64) for _ in range(3)), np.zeros(0, np.float32), True, False).size == 0


def test_span_candidates_respect_text_length_and_type_count():
    logits = torch.full((2, 4, 3, 2), 5.0)  # everything scores high
    cand = span_candidates(logits, torch.tensor([4, 2]), torch.tensor([2, 1]), threshold=0.5)
    assert (cand.end < np.array([4, 2])[cand.item]).all()
    assert (cand.type < np.array([2, 1])[cand.item]).all()
    # item 0: spans of width 1..3 over 4 words (4+3+2) × 2 types; item 1: (2+1) × 1 type
    assert (cand.item == 0).sum() == 18 and (cand.item == 1).sum() == 3


def test_token_candidates_pair_starts_and_ends_through_inside():
    # one item, 5 words, 1 type: start at 1, end at 3, inside high on 1..3 but low on 4
    p = torch.full((1, 5, 1, 3), -5.0)
    p[0, 1, 0, 0] = 2.0  # start
    p[0, 3, 0, 1] = 1.0  # end
    p[0, 1:4, 0, 2] = 3.0  # inside
    cand = token_candidates(p, torch.tensor([5]), torch.tensor([1]), threshold=0.5)
    assert list(zip(cand.start, cand.end, strict=True)) == [(1, 3)]
    assert np.isclose(
        cand.score[0], torch.sigmoid(torch.tensor(1.0)).item()
    )  # the weakest of start/end/inside
    p[0, 2, 0, 2] = -3.0  # a gap inside breaks the span
    assert len(token_candidates(p, torch.tensor([5]), torch.tensor([1]), threshold=0.5).score) == 0
