"""Plot setup: one place that sets the theme and the fonts, in that order.

Chinese must render on a fresh machine with pip packages only, so the kit registers
Noto Sans SC from the ``pylopdf-fonts-zh-cn`` wheel with matplotlib. seaborn's
``set_theme()`` resets the font family, which is why :func:`setup` sets the fonts after it.
"""
from __future__ import annotations

import importlib.resources as resources
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

#: Family name of the bundled CJK font, as matplotlib and the HTML @font-face know it.
CJK_FAMILY = "Noto Sans SC"

#: The kit's colours, in the order series take them.
PALETTE: list[str] = ["#2f5d8a", "#e07b39", "#5b9a68", "#c8553d", "#8c6bb1", "#d4a72c", "#4aa3a2", "#7f7f7f"]


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Path of the Noto Sans SC OpenType file shipped by ``pylopdf-fonts-zh-cn``."""
    path = Path(str(resources.files("pylopdf_fonts_zh_cn") / "NotoSansSC-Regular.otf"))
    if not path.exists():
        raise FileNotFoundError(
            f"{path} missing: reinstall the kit's dependencies (`make install`) to get the CJK font"
        )
    return path


@lru_cache(maxsize=1)
def _register_font() -> str:
    font_manager.fontManager.addfont(str(cjk_font_path()))
    return CJK_FAMILY


def setup(context: str = "notebook") -> None:
    """Theme first, then fonts (seaborn's ``set_theme`` would reset them)."""
    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    apply_fonts()


def apply_fonts() -> None:
    """Register the bundled CJK font and make it matplotlib's first sans-serif family."""
    family = _register_font()
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["figure.dpi"] = 100
    plt.rcParams["savefig.dpi"] = 110
    plt.rcParams["figure.figsize"] = (8.0, 4.5)
    # only the regular weight ships with the wheel: asking for bold would log findfont errors
    plt.rcParams["axes.titleweight"] = "normal"
    plt.rcParams["axes.labelweight"] = "normal"
    plt.rcParams["figure.titleweight"] = "normal"


def new_ax(ax: Axes | None = None, figsize: tuple[float, float] | None = None) -> Axes:
    """The given Axes, or a fresh one on a new figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def money_formatter(symbol: str = "") -> FuncFormatter:
    """Axis formatter: 1.2M, 350K, with an optional currency symbol."""

    def fmt(x: float, _pos: int | None = None) -> str:
        a = abs(x)
        if a >= 1e8:
            s = f"{x / 1e8:.1f}亿" if symbol in ("¥", "￥") else f"{x / 1e6:.0f}M"
        elif a >= 1e6:
            s = f"{x / 1e6:.1f}M"
        elif a >= 1e3:
            s = f"{x / 1e3:.0f}K"
        else:
            s = f"{x:.0f}"
        return f"{symbol}{s}"

    return FuncFormatter(fmt)
