"""HTML views for notebooks: parsed back with html.parser and checked against the objects."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np

from bcsc_flow.gates import Quadrant, Range, Threshold
from bcsc_flow.jupyter import repr_html, result_html, sample_html, strategy_html
from bcsc_flow.sample import Channel, Sample
from bcsc_flow.strategy import GatingStrategy


class _Cells(HTMLParser):
    """Collects table rows (lists of cell texts) and list items (with nesting depth)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.items: list[tuple[int, str]] = []
        self._cell: list[str] | None = None
        self._depth = 0
        self._item: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._in_style = True
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []
        if tag == "ul":
            self._depth += 1
        if tag == "li":
            self._item = []
            self.items.append((self._depth, ""))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        if tag == "ul":
            self._depth -= 1

    def handle_data(self, data):
        if self._in_style:
            return
        if self._cell is not None:
            self._cell.append(data)
        if self.items and self._item is not None:
            depth, text = self.items[-1]
            self.items[-1] = (depth, text + data)


def _parse(html: str) -> _Cells:
    parser = _Cells()
    parser.feed(html)
    return parser


def test_sample_html_lists_every_channel_and_escapes() -> None:
    channels = [Channel("FSC-A", None, 262144.0, 32), Channel("APC-A", "<CD44> & co", 262144.0, 32)]
    s = Sample(name="tube <1>", events=np.zeros((7, 2)), channels=tuple(channels))
    html = sample_html(s)
    assert "<CD44>" not in html and "&lt;CD44&gt; &amp; co" in html
    rows = _parse(html).rows
    assert rows[0] == ["#", "$PnN", "$PnS", "$PnR", "$PnB"]
    assert rows[1:] == [
        ["1", "FSC-A", "", "262144", "32"],
        ["2", "APC-A", "<CD44> & co", "262144", "32"],
    ]
    assert "7 events, 2 channels" in html and "tube &lt;1&gt;" in html


def _strategy() -> GatingStrategy:
    return (
        GatingStrategy()
        .add("cells", Range("FSC-A", 1.0, 9.0))
        .add("q", Quadrant.cross("A", 0.5, "B", 0.5), parent="cells")
        .add("A+", Threshold("A", above=0.5), parent="cells")
        .add("big", Range("FSC-A", 5.0, 9.0), parent="A+")
    )


def test_strategy_html_is_the_tree() -> None:
    items = _parse(strategy_html(_strategy())).items
    names = [(depth, text.split(":")[0]) for depth, text in items]
    assert names == [
        (1, "cells"),
        (2, "A- B-"),
        (2, "A+ B-"),
        (2, "A- B+"),
        (2, "A+ B+"),
        (2, "A+"),
        (3, "big"),
    ]
    assert "Range(FSC-A: [5, 9))" in items[-1][1]


def test_result_html_matches_result_numbers() -> None:
    rng = np.random.default_rng(0)
    s = Sample.from_array(
        np.column_stack([rng.uniform(0, 10, 500), rng.uniform(0, 1, (500, 2))]), ["FSC-A", "A", "B"]
    )
    res = _strategy().apply(s)
    rows = _parse(result_html(res)).rows
    assert rows[0] == ["population", "count", "% of parent", "% of total"]
    body = {r[0].strip("\xa0"): r[1:] for r in rows[1:]}
    assert list(body) == list(res.names)
    for name in res.names:
        assert body[name] == [
            f"{res.count(name):,}",
            f"{res.pct_of_parent(name):.2f}",
            f"{res.pct_of_total(name):.2f}",
        ]
    big_row = next(r for r in rows if r[0].endswith("big"))
    assert big_row[0].startswith("\xa0" * 8)  # two levels deep


def test_repr_html_dispatch() -> None:
    s = Sample.from_array(np.zeros((2, 3)), ["FSC-A", "A", "B"])
    st = _strategy()
    assert repr_html(s) == sample_html(s)
    assert repr_html(st) == strategy_html(st)
    assert repr_html(st.apply(s)).startswith(result_html(st.apply(s))[:40])
    assert repr_html("<x>") == "<pre>&#x27;&lt;x&gt;&#x27;</pre>"
