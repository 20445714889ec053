"""Server-rendered charts (pygal): the admin page's Google API calls of the last quota days.

Public API: `usage_chart(usage, gettext)` returns the SVG text; `SVG_HEADERS`.

The SVG is served from its own route and shown with `<img>`, where a browser runs no script
of it; pygal's script elements (tooltips, config) are also removed from the tree, and the
route's Content-Security-Policy forbids scripts should anyone open the SVG on its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pygal
from pygal.style import Style

from calsync.service import Api, Usage

SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
}
"""What the chart's route answers with: no script runs even when the SVG is opened alone."""

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#333333",
    foreground_strong="#111111",
    foreground_subtle="#cccccc",
    colors=("#1a73e8", "#e37400", "#d93025"),
    font_family="system-ui, sans-serif",
)


def usage_chart(usage: Usage, gettext: Callable[[str], str]) -> str:
    """Return an SVG line chart of the calls per API and quota day in `usage`, with each
    API's project budget as a dashed line when one is set."""
    chart = pygal.Line(
        width=900,
        height=320,
        style=_STYLE,
        js=[],
        disable_xml_declaration=True,
        show_dots=len(usage.days) <= 31,
        dots_size=2,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(usage.days) // 5),
        legend_at_bottom=True,
        include_x_axis=True,
        truncate_legend=-1,
        truncate_label=-1,
        title=gettext("Google API calls per quota day"),
    )
    chart.x_labels = [d.day.isoformat() for d in usage.days]
    names = {Api.CALENDAR: gettext("Calendar API"), Api.TASKS: gettext("Tasks API")}
    for api in Api:
        chart.add(names[api], [d.calls(api) for d in usage.days])
    calendar_budget = usage.budgets.get(Api.CALENDAR)
    if calendar_budget is not None and calendar_budget.project:
        top = max((d.calls(api) for d in usage.days for api in Api), default=0)
        # The budget line only when it is in sight: far above, it would flatten the calls.
        if top * 4 >= calendar_budget.project:
            chart.add(
                gettext("Calendar API project budget"),
                [calendar_budget.project] * len(usage.days),
                show_dots=False,
                stroke_style={"dasharray": "6, 4"},
            )
    return _without_scripts(chart.render_tree())


def _without_scripts(root: ET.Element) -> str:
    """Return the SVG of `root` with every script element taken out."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == "script":
                parent.remove(child)
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="unicode")
