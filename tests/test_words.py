from anyner.text.words import split_words


def test_words_keep_offsets_and_follow_gliner_rule():
    text = "  Dr. Smith (MIT) said state-of-the-art\tfoo_bar — ok!"
    w = split_words(text)
    assert w.words == [
        "Dr",
        ".",
        "Smith",
        "(",
        "MIT",
        ")",
        "said",
        "state-of-the-art",
        "foo_bar",
        "—",
        "ok",
        "!",
    ]
    assert all(text[s:e] == word for word, s, e in zip(w.words, w.starts, w.ends, strict=True))


def test_cjk_is_one_character_per_word():
    text = "我爱北京 Tokyo東京タワー2024年"
    w = split_words(text)
    assert w.words == ["我", "爱", "北", "京", "Tokyo", "東", "京", "タ", "ワ", "ー", "2024", "年"]
    assert all(text[s:e] == word for word, s, e in zip(w.words, w.starts, w.ends, strict=True))


def test_hangul_keeps_space_separated_words():
    assert split_words("서울 특별시").words == ["서울", "특별시"]


def test_empty_and_whitespace():
    assert len(split_words("")) == 0
    assert len(split_words(" \t\n ")) == 0
