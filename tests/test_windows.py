import itertools

import pytest

from anyner.text.windows import plan_windows


@pytest.mark.parametrize(
    "n,max_tokens,max_words,overlap", [(1, 10, 5, 2), (100, 20, 50, 6), (1000, 512, 384, 32), (37, 7, 7, 3)]
)
def test_windows_cover_and_own_every_word_once(n, max_tokens, max_words, overlap):
    counts = [1 + (i * 7) % 3 for i in range(n)]
    windows = plan_windows(counts, max_tokens, max_words, overlap)
    assert windows[0].start == 0 and windows[-1].end == n
    owned = []
    for w in windows:
        assert sum(counts[w.start : w.end]) <= max_tokens
        assert w.end - w.start <= max_words
        assert w.start <= w.own_start <= w.own_end <= w.end
        owned.extend(range(w.own_start, w.own_end))
    assert owned == list(range(n))
    for a, b in itertools.pairwise(windows):
        assert b.start < a.end  # neighbours overlap: nothing falls between windows
        assert b.start > a.start


def test_word_too_long_for_a_window_is_an_error():
    with pytest.raises(ValueError, match="sub-tokens"):
        plan_windows([1, 50, 1], max_tokens=10, max_words=10, overlap=2)


def test_no_words_no_windows():
    assert plan_windows([], 10, 10, 2) == []
