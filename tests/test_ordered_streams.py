"""book/_ext/ordered_streams.py: text printed around a displayed table keeps its place (issue 21)."""

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import ordered_streams  # book/_ext is not a package


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def table():
    return nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|--|\n| 1 |\n"})


def test_text_after_a_table_stays_after_it():
    outputs = [stream("scores:\n"), stream("(rounded)\n"), table(), stream("nearest: Nemo\n")]
    merged = ordered_streams.merge_consecutive_streams(outputs)
    assert [o["output_type"] for o in merged] == ["stream", "display_data", "stream"]
    assert merged[0]["text"] == "scores:\n(rounded)\n" and merged[2]["text"] == "nearest: Nemo\n"


def test_streams_alone_merge_as_myst_nb_does():
    outputs = [stream("a\n"), stream("warn\n", "stderr"), stream("b\n")]
    assert ordered_streams.merge_consecutive_streams(outputs) == ordered_streams._MYST_NB_MERGE(
        [stream("a\n"), stream("warn\n", "stderr"), stream("b\n")])
    assert ordered_streams.merge_consecutive_streams([]) == []


def test_the_extension_replaces_myst_nbs_merge():
    from myst_nb.core import render

    class App:
        pass

    ordered_streams.setup(App())
    assert render.coalesce_streams is ordered_streams.merge_consecutive_streams
