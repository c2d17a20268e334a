"""`shown`: a value from data goes into a message quoted, inert and bounded; pages escape."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from stocky.core.shown import SHOWN_LIMIT, shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "'abc'"),
        ("", "''"),
        ("<img src=x onerror=alert(1)>", r"'\x3cimg src=x onerror=alert(1)\x3e'"),
        ("[bold]x[/bold]", r"'\x5bbold\x5dx\x5b/bold\x5d'"),  # Rich markup on a terminal
        ("`rm`&", r"'\x60rm\x60\x26'"),
        ("it's", r"'it\x27s'"),
        ("a\nb\x00\u202e", r"'a\x0ab\x00\u202e'"),  # control and bidi characters
        ("Zürich", "'Zürich'"),  # printable text stays readable
        (np.int64(0), "'0'"),
    ],
)
def test_values_are_quoted_and_carry_no_markup(value, expected):
    assert shown(value) == expected


def test_long_values_are_cut_and_their_length_said():
    text = "x" * 1000
    out = shown(text)
    assert out == "'" + "x" * SHOWN_LIMIT + "...' (1000 characters)"
    assert shown("<" * 50, limit=3) == r"'\x3c\x3c\x3c...' (50 characters)"


def test_pages_escape_every_value():
    from stocky.report.html import _environment

    assert _environment().autoescape is True
    templates = resources.files("stocky.report") / "templates"
    for template in templates.iterdir():
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template
