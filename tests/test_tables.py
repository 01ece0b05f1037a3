"""Tests of cosim_helpers.tables."""

import pytest

from cosim_helpers.tables import format_rows


def test_format_rows_aligns_columns():
    out = format_rows([["a", "0.5"], ["longer name", "1"]], ["method", "AUC"])
    lines = out.splitlines()
    assert lines[0].startswith("method") and set(lines[1]) <= {"-", " "}
    assert lines[2].index("0.5") == lines[3].index("1") == lines[0].index("AUC")
    with pytest.raises(ValueError, match="rows\\[0\\]"):
        format_rows([["a"]], ["x", "y"])
