"""K-shot support sets drawn greedily, Few-NERD style."""

from collections import Counter

from anyner.data.example import Example
from anyner.eval.kshot import sample_support


def _data():
    rows = []
    for i in range(60):
        spans = [(0, 0, "a")] if i % 2 == 0 else [(0, 0, "b"), (1, 1, "b")]
        if i % 5 == 0:
            spans.append((2, 2, "c"))
        rows.append(Example(["w1", "w2", "w3"], spans, str(i)))
    rows.append(Example(["x"], [], "empty"))
    return rows


def _counts(support):
    return Counter(label for ex in support for _, _, label in ex.spans)


def test_every_label_gets_k_and_no_sentence_is_redundant():
    for k in (1, 5):
        for seed in range(5):
            support = sample_support(_data(), ["a", "b", "c"], k, seed)
            counts = _counts(support)
            assert all(counts[x] >= k for x in "abc")
            assert all(counts[x] <= 2 * k + 1 for x in "abc")
            for ex in support:  # dropping any sentence leaves some label under k
                own = Counter(label for _, _, label in ex.spans)
                assert any(counts[x] - n < k for x, n in own.items())


def test_seeds_differ_and_repeat_and_labels_outside_are_dropped():
    data = _data()
    assert sample_support(data, ["a", "b"], 2, 0) == sample_support(data, ["a", "b"], 2, 0)
    assert sample_support(data, ["a", "b"], 2, 0) != sample_support(data, ["a", "b"], 2, 1)
    assert "c" not in _counts(sample_support(data, ["a", "b"], 2, 0))


def test_a_rare_label_gets_all_it_has():
    data = [Example(["w"], [(0, 0, "a")]) for _ in range(10)] + [Example(["w"], [(0, 0, "r")])]
    counts = _counts(sample_support(data, ["a", "r"], 5, 0))
    assert counts["r"] == 1 and counts["a"] >= 5
