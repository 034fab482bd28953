"""HTML views for Jupyter: a Sample's channels, a GatingStrategy's tree, a GatingResult's counts.

The functions return self-contained HTML strings (no scripts, no external CSS); classes
hook them in as ``_repr_html_``. This module imports nothing from bcsc_flow, so any layer
may import it: it reads the objects through their public attributes only.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> html = sample_html(Sample.from_array(np.zeros((5, 2)), ["FSC-A", "APC-A"],
...                                      markers=[None, "CD44"], name="demo"))
>>> "<td>APC-A</td><td>CD44</td>" in html, "5 events" in html
(True, True)
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

__all__ = ["repr_html", "result_html", "sample_html", "strategy_html"]

_STYLE = (
    "<style>.bcsc-flow table{border-collapse:collapse;font-size:12px}"
    ".bcsc-flow th,.bcsc-flow td{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
    ".bcsc-flow td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".bcsc-flow ul{margin:0;padding-left:18px}.bcsc-flow code{font-size:11px}</style>"
)
_MAX_ROWS = 200


def _cell(value: Any, numeric: bool = False) -> str:
    text = "" if value is None else escape(str(value))
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _number(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _wrap(title: str, body: str) -> str:
    return f'{_STYLE}<div class="bcsc-flow"><b>{title}</b>{body}</div>'


def sample_html(sample: Any) -> str:
    """A Sample's name, size, source and channels (``$PnN``, ``$PnS``, ``$PnR``, ``$PnB``).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> sample_html(Sample.from_array(np.zeros((1, 1)), ["FSC-A"])).count("<tr>")
    2
    """
    n_events, channels = len(sample), list(sample.channels)
    title = f"Sample {escape(repr(sample.name))}: {n_events:,} events, {len(channels)} channels"
    facts = []
    if getattr(sample, "path", None) is not None:
        facts.append(f"file <code>{escape(str(sample.path))}</code>")
    if getattr(sample, "version", ""):
        facts.append(f"{escape(str(sample.version))}")
    spill = getattr(sample, "spillover", None)
    if spill is not None:
        n = len(spill.detectors)
        facts.append(f"spillover {n}×{n} from <code>{escape(str(spill.keyword))}</code>")
    info = f"<div>{' · '.join(facts)}</div>" if facts else ""
    rows = ["<tr><th>#</th><th>$PnN</th><th>$PnS</th><th>$PnR</th><th>$PnB</th></tr>"]
    for i, ch in enumerate(channels[:_MAX_ROWS], start=1):
        rng = "" if ch.range is None else f"{ch.range:g}"
        rows.append(
            "<tr>"
            + _cell(i, True)
            + _cell(ch.name)
            + _cell(ch.marker)
            + _cell(rng, True)
            + _cell(ch.bits, True)
            + "</tr>"
        )
    more = (
        f"<div>… {len(channels) - _MAX_ROWS} more channels</div>"
        if len(channels) > _MAX_ROWS
        else ""
    )
    return _wrap(title, info + "<table>" + "".join(rows) + "</table>" + more)


def _tree(strategy: Any, parent: str | None) -> str:
    items = []
    for name in strategy.children(parent):
        gate = strategy.gate(name)
        describe = getattr(gate, "describe", None)
        text = describe() if callable(describe) else repr(gate)
        items.append(
            f"<li><b>{escape(name)}</b>: <code>{escape(text)}</code>{_tree(strategy, name)}</li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else ""


def strategy_html(strategy: Any) -> str:
    """A GatingStrategy as a nested list: population name and gate, children indented.

    Example
    -------
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> st = GatingStrategy().add("cells", Range("FSC-A", 1, 9)).add("big", Range("FSC-A", 5, 9), parent="cells")
    >>> html = strategy_html(st)
    >>> html.index("<b>cells</b>") < html.index("<ul><li><b>big</b>")
    True
    """
    n = len(strategy.names)
    spills = list(getattr(strategy, "spillovers", {}) or {})
    extra = f" · spillovers: {escape(', '.join(spills))}" if spills else ""
    title = f"GatingStrategy: {n} population{'s' if n != 1 else ''}{extra}"
    return _wrap(title, _tree(strategy, None))


def _depths(strategy: Any, names: list[str]) -> dict[str, int]:
    return {name: len(strategy.ancestors(name)) for name in names}


def result_html(result: Any) -> str:
    """A GatingResult as a table: population (indented by depth), count, % of parent, % of total.

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> res = GatingStrategy().add("a", Range("A", 0, 1)).apply(Sample.from_array(np.array([[0.5], [2.0]]), ["A"]))
    >>> '<td class="num">50.00</td>' in result_html(res)
    True
    """
    table = result.table()
    names = [str(n) for n in table["population"]]
    depth = _depths(result.strategy, names)
    sample = getattr(result, "sample", None)
    label = escape(repr(getattr(sample, "name", "?")))
    title = f"GatingResult for {label}: {result.total_count:,} events, {len(names)} populations"
    rows = ["<tr><th>population</th><th>count</th><th>% of parent</th><th>% of total</th></tr>"]
    for rec in table.to_dict("records")[:_MAX_ROWS]:
        pad = "&nbsp;" * 4 * depth[str(rec["population"])]
        rows.append(
            f"<tr><td>{pad}{escape(str(rec['population']))}</td>"
            + _cell(_number(int(rec["count"])), True)
            + _cell(_number(float(rec["pct_of_parent"])), True)
            + _cell(_number(float(rec["pct_of_total"])), True)
            + "</tr>"
        )
    return _wrap(title, "<table>" + "".join(rows) + "</table>")


def repr_html(obj: Any) -> str:
    """HTML for a Sample, GatingStrategy or GatingResult (by their shape), else escaped repr.

    Example
    -------
    >>> repr_html(3)
    '<pre>3</pre>'
    """
    if hasattr(obj, "masks") and hasattr(obj, "table"):
        return result_html(obj)
    if hasattr(obj, "children") and hasattr(obj, "populations"):
        return strategy_html(obj)
    if hasattr(obj, "channels") and hasattr(obj, "events"):
        return sample_html(obj)
    return f"<pre>{escape(repr(obj))}</pre>"
