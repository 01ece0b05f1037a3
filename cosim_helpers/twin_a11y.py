"""Accessible names for the static twins of the explorers (issue 13).

A static twin is matplotlib's ``to_jshtml`` slider animation (see
``cosim_helpers.widgets``): one ``<img>`` whose frame a range slider picks.
matplotlib gives the image no ``alt`` text and the slider no label, so a
screen reader announces "image" and "slider" and nothing else (axe-core:
``image-alt`` and ``label``, both critical). :func:`label_twin` adds both,
and lets the image shrink to the column on narrow screens.
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["label_twin"]

_IMG = re.compile(r'<img id="(_anim_img[^"]+)"([^>]*)>')
_SLIDER = re.compile(r'<input id="(_anim_slider[^"]+)"')


def label_twin(html: str, alt: str, slider_label: str) -> str:
    """Give a twin's image its ``alt`` text and its slider an accessible name.

    Parameters
    ----------
    html : str
        One static twin (output of matplotlib's ``to_jshtml``, as made
        deterministic by ``cosim_helpers.widgets``); exactly one animation.
    alt : str
        What the frames show, for someone who cannot see them (e.g. "Item-item
        cosine heat map of BD⁻¹ and the cluster-recovery curve, for the α
        chosen with the slider"). Non-empty.
    slider_label : str
        What the slider chooses (e.g. "α, the exponent of D = dMat(σ)^α").
        Non-empty.

    Returns
    -------
    str
        The same HTML with ``alt=`` and ``style="max-width:100%;height:auto"``
        on the image and ``aria-label=`` on the slider; HTML special
        characters in ``alt`` and ``slider_label`` are escaped. Already
        labelled twins are returned unchanged (the function is idempotent).

    Raises
    ------
    TypeError
        If an argument is not a string.
    ValueError
        If ``alt`` or ``slider_label`` is blank, or ``html`` does not hold
        exactly one twin image and one slider.
    """
    for value, name in ((html, "html"), (alt, "alt"), (slider_label, "slider_label")):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not alt.strip():
        raise ValueError("alt must describe the image, got a blank string")
    if not slider_label.strip():
        raise ValueError("slider_label must name what the slider chooses, got a blank string")
    images, sliders = _IMG.findall(html), _SLIDER.findall(html)
    if len(images) != 1 or len(sliders) != 1:
        raise ValueError(f"html must hold exactly one twin (one _anim_img and one _anim_slider), "
                         f"found {len(images)} images and {len(sliders)} sliders")
    alt_attr = _html.escape(" ".join(alt.split()), quote=True)
    label_attr = _html.escape(" ".join(slider_label.split()), quote=True)

    def image(match):
        rest = match.group(2)
        if "alt=" in rest:
            return match.group(0)
        return f'<img id="{match.group(1)}" alt="{alt_attr}" style="max-width:100%;height:auto"{rest}>'

    def slider(match):
        return match.group(0) + f' aria-label="{label_attr}"'

    html = _IMG.sub(image, html)
    if f'{sliders[0]}" aria-label=' not in html:
        html = _SLIDER.sub(slider, html)
    return html
