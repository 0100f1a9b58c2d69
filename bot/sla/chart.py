"""A backlog chart for mail: bars built from table cells (no images, no scripts, no external URLs)."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

BAR_COLOR = "#3b6ea5"
TODAY_COLOR = "#c0392b"
EMPTY_COLOR = "#dde3ea"
SPARKS = "▁▂▃▄▅▆▇█"


def _cell(height: int, color: str, title: str, width: int) -> str:
    # bgcolor/height attributes for Outlook's Word engine, the same again in CSS for everyone else.
    return (f'<td valign="bottom" style="padding:0 1px 0 0;">'
            f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>'
            f'<td width="{width}" height="{height}" bgcolor="{color}" title="{escape(title)}" '
            f'style="width:{width}px;height:{height}px;background-color:{color};font-size:0;line-height:0;">'
            f'&nbsp;</td></tr></table></td>')


def backlog_chart_html(points: list[tuple[date, int]], *, height: int = 80, bar_width: int = 10) -> Markup:
    """One bar per day, tallest = the largest value; the last bar (today) stands out."""
    if not points:
        return Markup("")
    top = max(value for _, value in points) or 1
    cells = []
    for i, (day, value) in enumerate(points):
        bar = max(1, round(height * value / top))
        color = EMPTY_COLOR if value == 0 else TODAY_COLOR if i == len(points) - 1 else BAR_COLOR
        cells.append(_cell(bar, color, f"{day.isoformat()}: {value}", bar_width))
    label = 'style="font:11px Arial,sans-serif;color:#555;padding:0 6px 0 0;"'
    first, last = points[0][0].isoformat(), points[-1][0].isoformat()
    return Markup(
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td valign="top" {label}>{top}</td>'
        f'<td valign="bottom"><table role="presentation" cellpadding="0" cellspacing="0" border="0">'
        f'<tr style="height:{height}px;">{"".join(cells)}</tr></table></td></tr>'
        f'<tr><td {label}>0</td><td {label}>{first} &ndash; {last}</td></tr></table>')


def sparkline(values: list[int]) -> str:
    """The same series for the plain-text part."""
    if not values:
        return ""
    top = max(values) or 1
    return "".join(SPARKS[min(len(SPARKS) - 1, round((len(SPARKS) - 1) * value / top))] for value in values)
