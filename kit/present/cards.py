"""Display blocks of a report page, HTML-escaped: headline figures as a row of cards (label,
value, optional delta) and a chart as an image with its alt text and a one-line caption."""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def cards(items: Iterable[Mapping[str, Any]]) -> str:
    """HTML for a row of headline figures: each item has label, value and optional delta.

    Every label, value and delta is escaped: a figure is shown as text, never as markup.
    """
    out = ['<div class="kit-cards">']
    for it in items:
        delta = it.get("delta")
        out.append(
            '<div class="kit-card">'
            f'<div class="kit-card-label">{html.escape(str(it["label"]))}</div>'
            f'<div class="kit-card-value">{html.escape(str(it["value"]))}</div>'
            + (f'<div class="kit-card-delta">{html.escape(str(delta))}</div>' if delta else "")
            + "</div>"
        )
    out.append("</div>")
    return "".join(out)


def show_cards(items: Iterable[Mapping[str, Any]]) -> None:
    """Display :func:`cards` in a notebook."""
    display(HTML(cards(items)))


def figure_of(drawn: Figure | Axes | np.ndarray) -> Figure:
    """The figure of what a plot function returned: a figure, an Axes or an array of Axes."""
    if isinstance(drawn, Figure):
        return drawn
    if isinstance(drawn, np.ndarray):
        return figure_of(drawn.flat[0])
    figure = getattr(drawn, "figure", None)
    if not isinstance(figure, Figure):
        raise TypeError(f"expected a matplotlib Figure or Axes, got {type(drawn).__name__}")
    return figure


def figure_html(drawn: Figure | Axes | np.ndarray, caption: str, alt: str) -> str:
    """A chart as ``<figure>``: the PNG embedded (no file, no network) with ``alt`` text for
    a reader who cannot see it and ``caption`` (what to read from it) below; both escaped.
    The figure is closed, so the notebook does not show it a second time."""
    if not caption.strip() or not alt.strip():
        raise ValueError("a chart needs a caption and an alt text")
    fig = figure_of(drawn)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi, facecolor="white")
    plt.close(fig)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        '<figure class="kit-figure">'
        f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt, quote=True)}">'
        f"<figcaption>{html.escape(caption, quote=True)}</figcaption>"
        "</figure>"
    )
