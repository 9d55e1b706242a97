"""The HTML form of a report with charts: one self-contained page (inline SVG and CSS, no script, nothing fetched).

A supervisor mails the file; it opens the same anywhere. Every text in it
(SKUs, badges, lot codes) is escaped: it is data, never markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TextIO

from warehouse_tui import clock

BAR_HEIGHT = 16
LABEL_WIDTH = 220
PLOT_WIDTH = 420
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: one bar per (label, value); `unit` is said beside each value."""

    title: str
    unit: str
    bars: tuple[tuple[str, float], ...]


def svg(chart: Chart) -> str:
    bars = chart.bars or (("(nothing in this range)", 0),)
    top = max((abs(v) for _l, v in bars), default=0) or 1
    height = BAR_HEIGHT * len(bars) + 28
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<title>{html.escape(chart.title)}</title>',
             f'<text x="0" y="14" class="t">{html.escape(chart.title)}</text>']
    for n, (label, value) in enumerate(bars):
        y = 22 + n * BAR_HEIGHT
        length = round(PLOT_WIDTH * abs(value) / top, 1)
        shown = f"{value:g} {chart.unit}".strip()
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{html.escape(label[:40])}</text>'
                     f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length}" height="{BAR_HEIGHT - 4}" class="b"/>'
                     f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 12}">{html.escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """body{font:14px sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-top:1em}td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}
th{background:#eee}td:first-child,th:first-child{text-align:left}
svg{display:block;margin:1em 0}svg text{font:12px sans-serif;fill:#222}svg .t{font-weight:bold}
svg .b{fill:#3b6ea5}"""


def write_page(report, opts, records: list[tuple], out: TextIO) -> None:
    """The whole page: title, range, charts, then every row as a table (the same numbers as CSV and JSON)."""
    title = f"warehouse-tui report {report.name}"
    scope = f"{opts.date_from} to {opts.date_to}" + (f", client {opts.owner}" if opts.owner else ", all clients")
    out.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n")
    out.write(f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(report.help)}</p>\n"
              f"<p>{html.escape(scope)} (UTC days) — made {clock.utcnow():%Y-%m-%d %H:%M} UTC</p>\n")
    for chart in report.charts(records):
        out.write(svg(chart) + "\n")
    out.write(f"<table>\n<tr>{''.join(f'<th>{html.escape(k)}</th>' for k in report.keys)}</tr>\n")
    for r in records:
        out.write("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r) + "</tr>\n")
    out.write("</table>\n</body></html>\n")
