"""Token counting: the fast word-at-a-time count equals the regex tokenisation it stands for."""

from __future__ import annotations

import random
import string

from kg.text.tokens import _PIECE, count_tokens, token_spans, truncate


def _regex_count(text: str) -> int:
    return sum(1 for _ in _PIECE.finditer(text))


def test_count_tokens_examples() -> None:
    assert count_tokens("") == 0
    assert count_tokens("   \n\t ") == 0
    assert count_tokens("The attention function maps a query.") == 8  # "attentio" "n"
    assert count_tokens("internationalisation") == 3  # 20 letters: 8 + 8 + 4
    assert count_tokens("12345 (GPT-4) don't_stop ...") == 2 + 5 + 5 + 3
    assert count_tokens("Ünïcödé naïve café") == 3


def test_count_tokens_equals_the_regex_on_arbitrary_text() -> None:
    rng = random.Random(7)
    alphabet = (
        string.ascii_letters
        + string.digits
        + string.punctuation
        + " \t\n\r\x0b\x0c"
        + "éßøΩж中文²½٣①\u00a0\u2003\u0301—’“”…\x00\x1f"
    )
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert count_tokens(text) == _regex_count(text), repr(text)
    for cp in range(0x3000):  # every character of the common scripts, alone and among others
        ch = chr(cp)
        for text in (ch, f"a{ch}", f"{ch}1", f"({ch})", ch * 9, f"word{ch}word"):
            assert count_tokens(text) == _regex_count(text), (hex(cp), text)


def test_count_tokens_equals_the_regex_on_ascii_text() -> None:
    rng = random.Random(8)
    every_ascii = "".join(chr(i) for i in range(128))
    prose = string.ascii_letters + "      .,;:()-'0123456789_"
    for alphabet in (every_ascii, prose):
        for _ in range(20_000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
            assert count_tokens(text) == _regex_count(text), repr(text)


def test_count_matches_spans_and_truncate() -> None:
    text = "Multi-head attention (MHA) lets the model attend to 8 subspaces, jointly; see §3.2.2."
    assert count_tokens(text) == len(token_spans(text))
    assert count_tokens(truncate(text, 5)) == 5


def test_truncate_keeps_whole_short_texts_and_cuts_long_ones() -> None:
    assert truncate("a b c", 5) == "a b c"
    assert truncate("a b c", 3) == "a b c"
    assert truncate("a b c d", 3) == "a b c"
    assert truncate("word, word", 2) == "word,"
    assert truncate("anything", 0) == ""
