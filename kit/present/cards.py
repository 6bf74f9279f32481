"""Headline figures as a row of cards (label, value, optional delta), HTML-escaped."""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from IPython.display import HTML, display


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
