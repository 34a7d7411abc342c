"""The table form of results: every cell a CSV or Parquet writer can take, whatever the file names."""

from __future__ import annotations

import os

from facemotion.inference.rows import text_cell, text_cells


def test_a_name_that_is_not_utf8_becomes_readable_escapes() -> None:
    name = os.fsdecode(b"/photos/caf\xe9 \xff.jpg")  # the stray bytes as lone surrogates, as os.listdir gives them
    assert text_cell(name) == "/photos/caf\\xe9 \\xff.jpg"
    assert text_cell("\ud800 from JSON") == "\\ud800 from JSON"  # a surrogate no file name makes


def test_valid_text_and_other_values_pass_unchanged() -> None:
    row = ["/photos/café 😀.jpg", 3, 0.5, None, "plain"]
    assert text_cells([row]) == [row]
    for cell in text_cells([row, [os.fsdecode(b"\xe9")]]):
        for value in cell:
            if isinstance(value, str):
                value.encode("utf-8")
