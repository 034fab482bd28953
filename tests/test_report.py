"""The HTML report of a batch: self-contained, escaped, correct numbers, renders in Chromium.

The report is built from ``sample_fcs`` (gated once per module, with per-sample results
kept for the gating figures). Numbers on the page are checked against the Results they
come from and against the simulator's ground truth (``sample_fcs/truth.csv``). The page is
opened in headless Chromium (the Debian ``chromium`` package) with a test-only copy that
adds a strict Content-Security-Policy (nothing but inline style and data: images may load)
and a small script recording load errors and image sizes into the DOM, read back with
``--dump-dom``; console messages are read from Chromium's log on stderr. A screenshot of
the first screen goes to ``$BCSC_ARTIFACTS`` (CI) or the test's tmp folder.

Without Chromium the browser tests fail in CI (``CI=true``) and skip elsewhere.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bcsc_flow as bf
from bcsc_flow.batch import Results, write_table
from bcsc_flow.cli import main
from bcsc_flow.errors import StatisticsWarning
from bcsc_flow.report import render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FCS = ROOT / "sample_fcs"
TRUTH = SAMPLE_FCS / "truth.csv"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def batch() -> tuple[Results, pd.DataFrame]:
    res = bf.gate_folder(SAMPLE_FCS, "bcsc", progress=False, keep_results=True)
    assert res.ok, res.problems
    with warnings.catch_warnings():
        # sample_fcs's irradiated arm has more dead cells: compare notes it (tested elsewhere)
        warnings.simplefilter("ignore", StatisticsWarning)
        cmp = bf.compare(res.populations, by="condition", reference="untreated")
    return res, cmp


@pytest.fixture(scope="module")
def report(batch: tuple[Results, pd.DataFrame], tmp_path_factory: Any) -> Path:
    res, cmp = batch
    return write_report(res, cmp, tmp_path_factory.mktemp("report") / "report.html")


# --------------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """Tags with attributes, table cells by data-* attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.cells: dict[tuple[str, str, str], str] = {}
        self.pre: dict[str, str] = {}
        self.text: list[str] = []
        self._cell: tuple[str, str, str] | None = None
        self._pre: str | None = None
        self._table = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag == "table":
            self._table = values.get("id", "")
        if tag == "td" and "data-population" in values:
            self._cell = (self._table, values.get("data-sample", ""), values["data-population"])
            self.cells[self._cell] = ""
        if tag == "pre":
            self._pre = values.get("id", "")
            self.pre[self._pre] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "pre":
            self._pre = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self.cells[self._cell] += data
        if self._pre is not None:
            self.pre[self._pre] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _expected_q(q: float) -> str:
    return "< 0.0001" if q < 1e-4 else f"{q:.3g}"


def _chromium() -> str:
    for name in (os.environ.get("BCSC_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return str(shutil.which(name))
    message = (
        "headless Chromium is needed to render the report: install the Debian package "
        "`chromium` (apt-get install -y chromium) or set BCSC_CHROMIUM to the binary"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


CHECKER = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || (e.target && e.target.outerHTML) || e.type));
}, true);
document.addEventListener('securitypolicyviolation', function (e) {
  window.__errors.push('blocked: ' + e.blockedURI);
});
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {alt: img.alt, complete: img.complete, width: img.naturalWidth,
            height: img.naturalHeight};
  });
  var out = document.createElement('pre');
  out.id = 'bcsc-check';
  out.textContent = JSON.stringify({images: images, errors: window.__errors,
                                    text: document.body.innerText});
  document.body.appendChild(out);
});
</script>"""


def _render(page: Path, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    """Load a checker copy of ``page`` in Chromium; the checker's record and console lines."""
    copy = tmp_path / f"check_{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + CHECKER, 1))
    done = _run_chromium(
        ["--virtual-time-budget=20000", "--dump-dom", copy.as_uri()], tmp_path / "profile"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _parse(done.stdout)
    assert "bcsc-check" in dom.pre, f"the page did not finish loading:\n{done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(dom.pre["bcsc-check"]), console


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --------------------------------------------------------------------------- static checks


def test_report_references_nothing_outside_itself(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    page = _parse(html)
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "base", "source"}
    assert "url(" not in html and "@import" not in html
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == 1 + 6  # the comparison grid + one gating path per test sample
    for attrs in images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
        assert attrs["alt"]
    for _, attrs in page.tags:
        for key in ("src", "href", "action", "poster", "srcset"):
            if key in attrs and key != "src":
                assert attrs[key].startswith("#"), (key, attrs[key])


def test_report_numbers_match_results_and_truth(
    report: Path, batch: tuple[Results, pd.DataFrame]
) -> None:
    res, cmp = batch
    page = _parse(report.read_text(encoding="utf-8"))
    truth = pd.read_csv(TRUTH).set_index(["sample", "population"])["true_pct_of_parent"]
    bcsc = res.populations[res.populations["population"] == "BCSC"]
    assert len(bcsc) == 6
    for _, row in bcsc.iterrows():
        shown = page.cells[("populations", row["sample"], "BCSC")]
        assert shown == f"{row['pct_of_parent']:.2f}"
        # the number on the page is the right answer (sample_fcs/README: within ~0.1 point)
        assert abs(float(shown) - truth[(row["sample"], "BCSC")]) < 0.3
    q = float(cmp.loc[cmp["population"] == "BCSC", "q_value"].iloc[0])
    assert page.cells[("comparison", "", "BCSC")] == _expected_q(q)
    assert q < 0.05  # sample_fcs: BCSC clearly higher after irradiation
    text = " ".join(page.text)
    digest = res.template["digest"]
    assert digest[:12] in text and digest in text
    assert "b1_fmo_CD44.fcs" in text  # a threshold's control file
    assert "$PnS word" in text  # how CD44 was found


def test_values_are_escaped(batch: tuple[Results, pd.DataFrame]) -> None:
    res, _ = batch
    evil = "<img src=x onerror=alert(1)>"
    pops = res.populations.copy()
    pops.loc[pops["sample"] == "unt_r1", "sample"] = evil
    problems = pd.DataFrame(
        [{"sample": evil, "file": "a.fcs", "role": "test", "stage": "read",
          "error": "FCSError", "message": "<script>alert(2)</script>"}]
    )  # fmt: skip
    bad = Results(
        pops, res.thresholds, res.statistics, problems, res.sheet,
        markers=res.markers, qc=res.qc, template={"name": "<b>t</b>", "digest": "d&d"},
    )  # fmt: skip
    html = render_report(bad, None, title="<i>title</i>", figures=False)
    assert evil not in html and "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<b>t</b>" not in html and "&lt;b&gt;t&lt;/b&gt;" in html
    assert "<i>title</i>" not in html
    assert not {t for t, _ in _parse(html).tags} & {"script", "i", "img"}  # figures=False


def test_write_is_atomic(batch: tuple[Results, pd.DataFrame], tmp_path: Path, monkeypatch) -> None:
    res, _ = batch
    target = tmp_path / "report.html"
    target.write_text("old report")

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("bcsc_flow.report.render_report", broken)
    with pytest.raises(RuntimeError):
        write_report(res, None, target)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    monkeypatch.undo()
    write_report(res, None, target, figures=False)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_without_kept_results_gating_figures_are_explained(
    batch: tuple[Results, pd.DataFrame],
) -> None:
    res, cmp = batch
    lean = Results(
        res.populations, res.thresholds, res.statistics, res.problems, res.sheet,
        markers=res.markers, qc=res.qc, warnings=res.warnings, template=res.template,
    )  # fmt: skip
    html = render_report(lean, cmp)
    assert "keep_results=True" in html
    assert html.count("<img ") == 1  # the comparison plot needs only the tables


def test_gating_figures_can_be_capped(batch: tuple[Results, pd.DataFrame]) -> None:
    res, cmp = batch
    html = render_report(res, cmp, max_gating_figures=1)
    assert html.count("<img ") == 2  # comparison + the first sample's gating path
    assert 'alt="gating path of unt_r1"' in html
    assert "5 more sample(s) not drawn (limit 1)" in html


# --------------------------------------------------------------------------- in a browser


def test_report_renders_in_chromium(report: Path, batch: tuple[Results, pd.DataFrame], tmp_path):
    res, cmp = batch
    record, console = _render(report, tmp_path)
    assert record["errors"] == []
    assert console == []
    images = record["images"]
    assert len(images) == 7
    for img in images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
    text = record["text"]
    assert res.template["digest"][:12] in text
    for _, row in res.populations[res.populations["population"] == "BCSC"].iterrows():
        assert f"{row['pct_of_parent']:.2f}" in text
    q = float(cmp.loc[cmp["population"] == "BCSC", "q_value"].iloc[0])
    assert _expected_q(q) in text

    folder = Path(os.environ.get("BCSC_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report_first_screen.png"
    shot.unlink(missing_ok=True)
    done = _run_chromium(
        ["--window-size=1280,900", f"--screenshot={shot}", report.as_uri()],
        tmp_path / "profile-shot",
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert _png_size(shot) == (1280, 900)


def test_cli_report_from_tables_renders(
    batch: tuple[Results, pd.DataFrame], tmp_path: Path, capsys
) -> None:
    res, cmp = batch
    tables = tmp_path / "results"
    res.write(tables, parquet=False)
    write_table(cmp, tables / "comparison.csv")
    out = tmp_path / "rebuilt.html"
    assert main(["report", str(tables), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    page = _parse(html)
    for _, row in res.populations[res.populations["population"] == "BCSC"].iterrows():
        assert page.cells[("populations", row["sample"], "BCSC")] == f"{row['pct_of_parent']:.2f}"
    assert "need the events" in html  # gating figures omitted, with the reason
    assert re.search(r"<td>name</td><td>bcsc</td>", html)  # built-in template named by digest
    record, console = _render(out, tmp_path)
    assert record["errors"] == [] and console == []
    assert len(record["images"]) == 1 and record["images"][0]["width"] > 0


def test_cli_report_needs_populations(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 1
    assert "populations.csv" in capsys.readouterr().err
