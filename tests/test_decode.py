import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from anyner.decode import select, span_candidates, token_candidates


def _sigmoid(x):
    return (1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))).astype(np.float32)


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
    probs = np.full((2, 4, 3, 2), 0.99, dtype=np.float32)  # everything scores high
    cand = span_candidates(probs, np.array([4, 2]), np.array([2, 1]), threshold=0.5)
    assert (cand.end < np.array([4, 2])[cand.item]).all()
    assert (cand.type < np.array([2, 1])[cand.item]).all()
    # item 0: spans of width 1..3 over 4 words (4+3+2) × 2 types; item 1: (2+1) × 1 type
    assert (cand.item == 0).sum() == 18 and (cand.item == 1).sum() == 3


def _tuples(cand) -> set:
    """Candidates as (item, start, end, type, score) tuples."""
    columns = (cand.item, cand.start, cand.end, cand.type, cand.score)
    return set(zip(*(c.tolist() for c in columns), strict=True))


def test_span_candidates_are_those_above_the_threshold_with_their_scores():
    rng = np.random.default_rng(0)
    probs = rng.random((3, 6, 4, 5), dtype=np.float32)
    lengths, counts = np.array([6, 3, 1]), np.array([5, 2, 4])
    cand = span_candidates(probs, lengths, counts, threshold=0.7)
    expected = {
        (b, s, s + k, c, float(probs[b, s, k, c]))
        for b in range(3)
        for s in range(6)
        for k in range(4)
        for c in range(5)
        if probs[b, s, k, c] > 0.7 and s + k < lengths[b] and c < counts[b]
    }
    got = _tuples(cand)
    assert got == expected and len(cand.score) == len(expected)


def test_token_candidates_pair_starts_and_ends_through_inside():
    # one item, 5 words, 1 type: start at 1, end at 3, inside high on 1..3 but low on 4
    logits = np.full((1, 5, 1, 3), -5.0)
    logits[0, 1, 0, 0] = 2.0  # start
    logits[0, 3, 0, 1] = 1.0  # end
    logits[0, 1:4, 0, 2] = 3.0  # inside
    cand = token_candidates(_sigmoid(logits), np.array([5]), np.array([1]), threshold=0.5)
    assert list(zip(cand.start, cand.end, strict=True)) == [(1, 3)]
    assert cand.score[0] == _sigmoid(1.0)  # the weakest of start/end/inside
    logits[0, 2, 0, 2] = -3.0  # a gap inside breaks the span
    assert len(token_candidates(_sigmoid(logits), np.array([5]), np.array([1]), threshold=0.5).score) == 0


def test_token_candidates_ignore_padded_words_and_types():
    probs = np.full((2, 4, 3, 3), 0.9, dtype=np.float32)  # every word starts, ends and is inside
    cand = token_candidates(probs, np.array([4, 2]), np.array([3, 1]), threshold=0.5)
    # item 0: 10 spans over 4 words × 3 types; item 1: 3 spans over 2 words × 1 type
    assert (cand.item == 0).sum() == 30 and (cand.item == 1).sum() == 3
    assert (cand.end < np.array([4, 2])[cand.item]).all() and (cand.start <= cand.end).all()
    assert (cand.type < np.array([3, 1])[cand.item]).all()


def test_token_candidates_match_the_definition_on_random_scores():
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.3, 1.0, (2, 7, 3, 3)).astype(np.float32)
    lengths, counts, t = np.array([7, 4]), np.array([3, 2]), 0.5
    cand = token_candidates(probs, lengths, counts, threshold=t)
    expected = set()
    for b in range(2):
        for c in range(counts[b]):
            for s in range(lengths[b]):
                for e in range(s, lengths[b]):
                    start, end, inside = probs[b, s, c, 0], probs[b, e, c, 1], probs[b, s : e + 1, c, 2]
                    if start > t and end > t and (inside >= t).all():
                        expected.add((b, s, e, c, float(min(start, end, inside.min()))))
    got = _tuples(cand)
    assert expected and got == expected and len(cand.score) == len(expected)


def _nested_by_brute_force(start, end, label, score, multi_label):
    """The nested rule, checked against every span kept so far."""
    kept = []
    for i in np.lexsort((label, end, start, -score)).tolist():
        s, e = start[i], end[i]
        clash = any(
            (a < s <= b < e) or (s < a <= e < b) or ((a, b) == (s, e) and not multi_label)
            for a, b in ((start[j], end[j]) for j in kept)
        )
        if not clash:
            kept.append(i)
    return sorted(kept, key=lambda j: (start[j], kept.index(j)))


@settings(max_examples=150, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 8), st.integers(0, 2), st.floats(0, 1, width=32)),
        min_size=1,
        max_size=80,
    ),
    multi_label=st.booleans(),
)
def test_nested_selection_equals_the_brute_force_rule(spans, multi_label):
    start = np.array([s for s, _, _, _ in spans])
    end = np.array([s + w for s, w, _, _ in spans])
    label = np.array([c for _, _, c, _ in spans])
    score = np.array([p for _, _, _, p in spans], dtype=np.float32)
    got = select(start, end, label, score, flat=False, multi_label=multi_label).tolist()
    assert got == _nested_by_brute_force(start, end, label, score, multi_label)
