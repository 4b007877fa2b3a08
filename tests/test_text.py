"""The one rule for showing user text to other people (bot/text.py), table-tested."""

from __future__ import annotations

import pytest

from bot.text import clip, link, plain, shown, visible


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("[Claim your certificate](https://evil.example)", r"\[Claim your certificate\]\(https://evil.example\)"),
        ("# Big heading", r"\# Big heading"),
        ("-# small print", r"\-\# small print"),
        ("> quoted", r"\> quoted"),
        ("||spoiler||", r"\|\|spoiler\|\|"),
        ("```py\nprint()```", r"\`\`\`py print\(\)\`\`\`"),
        ("**bold** _it_ ~~gone~~", r"\*\*bold\*\* \_it\_ \~\~gone\~\~"),
        ("<@123> <@&9> <#5> <t:1767830400:F>", r"\<\@123> \<\@&9> \<#5> \<t:1767830400:F>"),
        # `# - >` mean something only at the start of a line.
        ("E-Commerce #1 a -> b", "E-Commerce #1 a -> b"),
        ("@everyone and @here", r"\@everyone and \@here"),
        ("back\\slash", r"back\\slash"),
        ("abc\u202edcba", "abcdcba"),
        ("zero\u200bwidth\u2060join\ufeff", "zerowidthjoin"),
        ("  many \n\n lines\tand  tabs ", "many lines and tabs"),
    ],
)
def test_shown_reads_exactly_as_typed(typed: str, expected: str) -> None:
    assert shown(typed) == expected


def test_shown_multiline_keeps_line_breaks_but_escapes_each_line() -> None:
    assert shown("# one\n\n- two\n> three", multiline=True) == "\\# one\n\\- two\n\\> three"


def test_limit_counts_what_the_reader_sees() -> None:
    assert shown("a_b_c_d_e", 5) == "a\\_b\\_…"
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Team: ada \u202e& bob", "Team: ada & bob"),
        ("line\nbreak", "line break"),
        ("[x](y)", "[x](y)"),
    ],
)
def test_plain_is_one_visible_line_without_escapes(typed: str, expected: str) -> None:
    assert plain(typed) == expected


def test_plain_clips() -> None:
    assert plain("x" * 120, 100) == "x" * 99 + "…"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/ada/alx-project-nexus", "<https://github.com/ada/alx-project-nexus>"),
        ("https://github.com/ada/repo)[x](https://evil", r"https://github.com/ada/repo\)\[x\]\(https://evil"),
        ("javascript:alert(1)", r"javascript:alert\(1\)"),
    ],
)
def test_link_is_clickable_only_when_plain(url: str, expected: str) -> None:
    assert link(url) == expected


def test_visible_keeps_letters_of_every_script() -> None:
    assert visible("Café Ёлка مرحبا") == "Café Ёлка مرحبا"
