"""HTML building blocks of the batch report: escaped tables, embedded figures, the page.

Every value that reaches the page goes through :func:`html.escape`; figures are PNG data
URIs; the style sheet is inline. The page therefore has no script, no font and no link to
anything outside itself, and opens the same offline, in a mail client or in an archive.

Example
-------
>>> import pandas as pd
>>> html = table(pd.DataFrame({"name": ["<b>"], "pct": [2.0]}), formats={"pct": fixed(2)})
>>> "&lt;b&gt;" in html, '<td class="num">2.00</td>' in html
(True, True)
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

__all__ = [
    "Formatter",
    "figure_img",
    "fixed",
    "format_p",
    "format_value",
    "page",
    "section",
    "significant",
    "table",
]

Formatter = Callable[[Any], str]

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;
 color:#1d2330;background:#fff;font-size:14px;line-height:1.45}
header{background:#243b53;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0 0;color:#d9e2ec;font-size:13px}
main{padding:8px 32px 40px 32px;max-width:1400px}
nav{margin:12px 0;font-size:13px}
nav a{margin-right:14px;color:#243b53}
h2{border-bottom:2px solid #d9e2ec;padding-bottom:4px;margin-top:32px;font-size:18px}
h3{font-size:15px;margin:18px 0 6px 0}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px 0}
th,td{padding:3px 9px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-weight:600;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.bad td{background:#ffe3e3}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.cards{gap:8px}
.card{border:1px solid #d9e2ec;border-radius:6px;padding:6px 12px;min-width:90px;font-size:12.5px}
.card b{display:block;font-size:19px}
.card.bad{border-color:#e12d39;background:#fff5f5}
.note{color:#52606d;font-size:13px}
.missing{color:#8a6100;background:#fffbea;border:1px solid #f0d87a;border-radius:4px;
 padding:6px 10px;display:inline-block}
figure{margin:10px 0 22px 0}
figure img{max-width:100%;height:auto;border:1px solid #e4e7eb}
figcaption{font-size:12.5px;color:#52606d}
code{font-size:12px;background:#f0f4f8;padding:1px 4px;border-radius:3px}
details summary{cursor:pointer;color:#243b53}
"""


def format_value(value: Any) -> str:
    """A plain, escaped rendering of one cell value (empty for None/NaN).

    Example
    -------
    >>> format_value(None), format_value(float("nan")), format_value("a&b"), format_value(3)
    ('', '', 'a&amp;b', '3')
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return escape(str(value))


def fixed(digits: int) -> Formatter:
    """A formatter with ``digits`` decimals (empty for missing values).

    Example
    -------
    >>> fixed(2)(2.015231), fixed(2)(None)
    ('2.02', '')
    """

    def fmt(value: Any) -> str:
        number = _number(value)
        return "" if number is None else f"{number:.{digits}f}"

    return fmt


def significant(digits: int) -> Formatter:
    """A formatter with ``digits`` significant digits (``g`` format).

    Example
    -------
    >>> significant(3)(0.0031502), significant(3)(440.874981)
    ('0.00315', '441')
    """

    def fmt(value: Any) -> str:
        number = _number(value)
        return "" if number is None else f"{number:.{digits}g}"

    return fmt


def format_p(value: Any) -> str:
    """A p- or q-value: 3 significant digits, ``< 0.0001`` below that.

    Example
    -------
    >>> format_p(0.0031502), format_p(2e-7), format_p(float("nan"))
    ('0.00315', '< 0.0001', '')
    """
    number = _number(value)
    if number is None:
        return ""
    return "< 0.0001" if number < 1e-4 else f"{number:.3g}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, Formatter] | None = None,
    headers: Mapping[str, str] | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
    cell_attributes: Callable[[pd.Series, str], Mapping[str, str]] | None = None,
    table_id: str | None = None,
) -> str:
    """An HTML table of a DataFrame; every header and value escaped.

    ``formats`` maps columns to formatters (their output is escaped too, and the cells are
    right-aligned numbers); ``headers`` renames columns for display; ``row_class`` gives a
    CSS class per row (``"bad"`` highlights); ``cell_attributes`` adds ``data-*``
    attributes (values escaped) to a cell.

    Example
    -------
    >>> import pandas as pd
    >>> print(table(pd.DataFrame({"a": [1]}), headers={"a": "A & B"}))
    <table><thead><tr><th>A &amp; B</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>
    """
    formats = dict(formats or {})
    headers = dict(headers or {})
    ident = f' id="{escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{escape(str(headers.get(c, c)))}</th>" for c in frame.columns)
    rows: list[str] = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            attrs = dict(cell_attributes(row, column)) if cell_attributes else {}
            if column in formats:
                text = escape(formats[column](row[column]))
                attrs["class"] = "num"
            else:
                text = format_value(row[column])
            extra = "".join(f' {escape(k)}="{escape(str(v))}"' for k, v in attrs.items())
            cells.append(f"<td{extra}>{text}</td>")
        css = row_class(row) if row_class else ""
        opening = f'<tr class="{escape(css)}">' if css else "<tr>"
        rows.append(opening + "".join(cells) + "</tr>")
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure_img(figure: Any, *, alt: str, caption: str = "", dpi: int = 72) -> str:
    """A matplotlib Figure as an ``<img>`` with a base64 PNG data URI, in a ``<figure>``.

    Example
    -------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(1, 1))
    >>> _ = fig.subplots().plot([0, 1])
    >>> figure_img(fig, alt="a line").startswith('<figure><img src="data:image/png;base64,')
    True
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    width, height = (round(v * dpi) for v in figure.get_size_inches())
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}" '
        f'width="{width}" height="{height}">{caption_html}</figure>'
    )


def section(anchor: str, title: str, body: str) -> str:
    """A ``<section>`` with an ``id`` (for the table of contents) and an ``<h2>``.

    Example
    -------
    >>> section("qc", "QC & checks", "<p>ok</p>")
    '<section id="qc"><h2>QC &amp; checks</h2><p>ok</p></section>'
    """
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: inline CSS, a header, a table of contents and the sections.

    ``sections`` holds ``(anchor, title, body_html)``; bodies are trusted HTML built by
    this module's functions (their values already escaped).

    Example
    -------
    >>> html = page("T <1>", "sub", [("a", "A", "<p>x</p>")])
    >>> "<title>T &lt;1&gt;</title>" in html, 'href="#a"' in html, "<script" in html
    (True, True, False)
    """
    toc = "".join(f'<a href="#{escape(a)}">{escape(t)}</a>' for a, t, _ in sections)
    body = "".join(section(a, t, b) for a, t, b in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<main><nav>{toc}</nav>{body}</main></body></html>\n"
    )
