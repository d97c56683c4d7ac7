"""Charts for the monitoring page, drawn on the server as SVG with pygal.

Each chart is an image with a data: address, so nothing is fetched from anywhere and the
page's Content-Security-Policy stays as strict as the rest of the console (an image runs
no script, and its own styles stay inside it). pygal's optional interactive script is
never referenced and its inline configuration script is removed. Every chart is shown
beside a table of the same figures, which is what a screen reader reads.
"""

from __future__ import annotations

import base64
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pygal
from pygal.style import Style

# pygal appends a legacy import hook for its map plugins (which we do not use); it has no
# find_spec, so every later failed import anywhere in the process raises an ImportWarning.
sys.meta_path[:] = [finder for finder in sys.meta_path
                    if type(finder).__name__ != "PluginImportFixer"]

# Dark, distinguishable colours with at least 4.5:1 contrast on white.
PALETTE = ("#12355b", "#a4000f", "#225c00", "#8a4b00", "#5b2a86", "#00606b", "#6b4e00",
           "#444444")
STYLE = Style(
    background="white", plot_background="white", foreground="#1b1b1b",
    foreground_strong="#1b1b1b", foreground_subtle="#555555", opacity="1",
    opacity_hover="1", colors=PALETTE, font_family="system-ui, sans-serif",
    label_font_size=13, major_label_font_size=13, value_font_size=13,
    value_label_font_size=13, title_font_size=16, legend_font_size=13,
    tooltip_font_size=13, no_data_font_size=16,
)


def _config(**extra) -> dict:
    return {"style": STYLE, "js": [], "disable_xml_declaration": True, "width": 800,
            "truncate_label": -1, "truncate_legend": -1, "no_data_text": "No cases",
            "print_values": True, "print_zeroes": False, **extra}


def ticks(top: int) -> list[int]:
    """Return whole-number axis marks from 0 past `top`, about six of them (1, 2, 5, 10…)."""
    top = max(1, int(top))
    raw = top / 6
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _data_uri(chart) -> str:
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    svg = ET.tostring(tree, encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def bars(title: str, pairs: Sequence[tuple[str, int]]) -> str:
    """Return a horizontal bar chart of (label, count) pairs as a data: address."""
    chart = pygal.HorizontalBar(**_config(
        title=title, show_legend=False, height=max(160, 70 + 34 * len(pairs)),
        y_labels=ticks(max((n for _label, n in pairs), default=0))))
    chart.x_labels = [label for label, _n in reversed(pairs)]
    chart.add(title, [n for _label, n in reversed(pairs)])
    return _data_uri(chart)


def trend(title: str, months: Sequence[str], series: dict[str, Sequence[int]]) -> str:
    """Return a line chart of monthly counts, one line per series."""
    top = max((max(values, default=0) for values in series.values()), default=0)
    chart = pygal.Line(**_config(title=title, height=380, legend_at_bottom=True,
                                 print_values=False, dots_size=4, y_labels=ticks(top),
                                 x_labels_major_every=max(1, len(months) // 12),
                                 show_minor_x_labels=len(months) <= 12))
    chart.x_labels = list(months)
    for name, values in series.items():
        chart.add(name, list(values))
    return _data_uri(chart)


def grouped(title: str, groups: Sequence[str], series: dict[str, Sequence[int]]) -> str:
    """Return a bar chart with one bar per series in each group (e.g. met, missed)."""
    top = max((max(values, default=0) for values in series.values()), default=0)
    chart = pygal.Bar(**_config(title=title, height=360, legend_at_bottom=True,
                                y_labels=ticks(top)))
    chart.x_labels = list(groups)
    for name, values in series.items():
        chart.add(name, list(values))
    return _data_uri(chart)
