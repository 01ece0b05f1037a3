"""Accessible names for the explorers' static twins (cosim_helpers.twin_a11y, issue 13)."""

from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.animation import FuncAnimation

from cosim_helpers.twin_a11y import label_twin


@pytest.fixture(scope="module")
def twin():
    """A real two-frame twin from matplotlib's to_jshtml (what the explorers embed)."""
    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    line, = ax.plot([0, 1], [0, 1])
    anim = FuncAnimation(fig, lambda j: line.set_ydata([0, j]) or [line], frames=2)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return html


class Tags(HTMLParser):
    """Attributes of every <img> and range <input>, read by an independent HTML parser."""

    def __init__(self, html):
        super().__init__()
        self.images, self.sliders = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "input" and attrs.get("type") == "range":
            self.sliders.append(attrs)


def test_image_gets_alt_and_slider_gets_a_name(twin):
    before = Tags(twin)
    assert "alt" not in before.images[0] and "aria-label" not in before.sliders[0]  # the bug
    out = Tags(label_twin(twin, "Heat map of the cosine of BD⁻¹", "α, the exponent of D"))
    assert [i["alt"] for i in out.images] == ["Heat map of the cosine of BD⁻¹"]
    assert [s["aria-label"] for s in out.sliders] == ["α, the exponent of D"]
    assert "max-width:100%" in out.images[0]["style"]  # shrinks to a phone's column


def test_special_characters_are_escaped_and_whitespace_collapsed(twin):
    out = Tags(label_twin(twin, 'D = "dMat(σ)" & <α>\n  sweep', "a < b"))
    assert out.images[0]["alt"] == 'D = "dMat(σ)" & <α> sweep'
    assert out.sliders[0]["aria-label"] == "a < b"


def test_idempotent_and_otherwise_unchanged(twin):
    once = label_twin(twin, "an image", "a slider")
    assert label_twin(once, "an image", "a slider") == once
    stripped = once.replace(' alt="an image" style="max-width:100%;height:auto"', "") \
                   .replace(' aria-label="a slider"', "")
    assert stripped == twin


@pytest.mark.parametrize("args, error", [
    ((1, "a", "b"), TypeError), (("<p>", 1, "b"), TypeError),
    (("<p>no twin</p>", "a", "b"), ValueError),
])
def test_bad_input(args, error):
    with pytest.raises(error):
        label_twin(*args)


@pytest.mark.parametrize("alt, label, name", [(" ", "b", "alt"), ("a", "", "slider_label")])
def test_blank_names_are_refused(twin, alt, label, name):
    with pytest.raises(ValueError, match=name):
        label_twin(twin, alt, label)


def test_two_twins_at_once_are_refused(twin):
    with pytest.raises(ValueError, match="exactly one twin"):
        label_twin(twin + twin, "a", "b")
