"""AnnData export: events × channels with population membership and sample-sheet columns.

``anndata`` is an optional extra (``pip install 'bcsc_flow[anndata]'``), imported only
when :func:`to_anndata` runs. The AnnData holds:

* ``X`` — float32 scale values (as read: ``$PnE``/``$PnG`` decoded, not compensated or
  transformed), one row per event, one column per channel;
* ``var`` — index: the channel keys (detector names, or the keys given as ``channels``);
  columns ``detector`` (``$PnN``) and ``marker`` (``$PnS``, ``""`` when absent), from
  the first sample;
* ``obs`` — index ``"<sample>:<event>"``; ``sample`` (categorical), ``event`` (row in
  the source data set), one boolean column per population (when gating results are
  given) and every sample-sheet column (matched on ``sample``);
* ``uns["bcsc_flow"]`` — the bcsc_flow version and, per sample, the source file and
  event count.

Example
-------
>>> import numpy as np
>>> from bcsc_flow.sample import Sample
>>> s = Sample.from_array(np.ones((3, 2)), ["FSC-A", "APC-A"], markers=[None, "CD44"], name="s1")
>>> adata = to_anndata(s)  # doctest: +SKIP
>>> adata.shape, adata.var["marker"].tolist()  # doctest: +SKIP
((3, 2), ['', 'CD44'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bcsc_flow import __version__
from bcsc_flow.errors import OptionalDependencyError, SheetError, StrategyError

if TYPE_CHECKING:
    from anndata import AnnData

    from bcsc_flow.sample import Sample

__all__ = ["to_anndata"]

_INSTALL = (
    "to_anndata needs the optional package 'anndata', which is not installed; install it "
    "with: pip install 'bcsc_flow[anndata]' (or pip install anndata)."
)


def _import_anndata() -> Any:
    try:
        import anndata
    except ImportError as exc:
        raise OptionalDependencyError(_INSTALL) from exc
    return anndata


def _items(data: Any) -> tuple[list[tuple[Sample, Any]], pd.DataFrame | None]:
    """(sample, result or None) pairs, and a sheet found on a batch Results object."""
    sheet = None
    if (
        hasattr(data, "samples")
        and isinstance(data.samples, Mapping)
        and not hasattr(data, "events")
    ):
        sheet = getattr(data, "sheet", None)
        if not data.samples:
            raise StrategyError(
                "to_anndata: the batch results hold no per-sample gating results; run "
                "gate_folder(..., keep_results=True) or pass the GatingResults."
            )
        data = list(data.samples.values())
    single = hasattr(data, "events") or hasattr(data, "masks")
    out: list[tuple[Sample, Any]] = []
    for item in [data] if single else list(data):
        if hasattr(item, "masks") and hasattr(item, "sample"):
            out.append((item.sample, item))
        elif hasattr(item, "events") and hasattr(item, "channels"):
            out.append((item, None))
        else:
            raise StrategyError(
                f"to_anndata: expected Samples or GatingResults, got {type(item).__name__}."
            )
    if not out:
        raise StrategyError("to_anndata: nothing to export (no samples given).")
    names = [s.name for s, _ in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SheetError(f"to_anndata: sample names must be unique; repeated: {dupes}.")
    return out, sheet


def _sheet_rows(sheet: pd.DataFrame | None, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    if sheet is None:
        return {}
    if "sample" not in sheet.columns:
        raise SheetError(
            f"to_anndata: the sheet needs a 'sample' column to match samples; it has "
            f"{list(sheet.columns)}."
        )
    rows = sheet[sheet["sample"].astype(str).isin(names)]
    repeated = sorted(set(rows["sample"][rows["sample"].duplicated()].astype(str)))
    if repeated:
        raise SheetError(f"to_anndata: the sheet has several rows for sample(s) {repeated}.")
    return {str(r["sample"]): r for r in rows.to_dict("records")}


def to_anndata(
    data: Any,
    *,
    sheet: pd.DataFrame | None = None,
    channels: Sequence[str] | None = None,
    populations: Sequence[str] | None = None,
    max_events_per_sample: int | None = None,
    seed: int = 0,
) -> AnnData:
    """Events of a sample, a gating result, several of them, or a batch as one AnnData.

    ``data`` is a :class:`~bcsc_flow.sample.Sample`, a
    :class:`~bcsc_flow.strategy.GatingResult`, an iterable of either, or batch results
    with per-sample results (``gate_folder(..., keep_results=True)``; its sheet is used
    unless ``sheet`` is given). ``channels`` picks columns by detector or marker in every
    sample (default: the first sample's detectors, which all samples must have).
    ``populations`` limits the membership columns (default: every population of the
    first result). ``max_events_per_sample`` keeps a seeded random subset of each sample
    (``obs["event"]`` still gives the original row).

    Example
    -------
    >>> import numpy as np
    >>> from bcsc_flow.sample import Sample
    >>> from bcsc_flow.gates import Range
    >>> from bcsc_flow.strategy import GatingStrategy
    >>> s = Sample.from_array(np.array([[1.0], [5.0]]), ["FSC-A"], name="s1")
    >>> res = GatingStrategy().add("big", Range("FSC-A", 2, 9)).apply(s)
    >>> to_anndata(res).obs["big"].tolist()  # doctest: +SKIP
    [False, True]
    """
    anndata = _import_anndata()
    items, found_sheet = _items(data)
    rows = _sheet_rows(sheet if sheet is not None else found_sheet, [s.name for s, _ in items])
    first = items[0][0]
    keys = list(channels) if channels is not None else list(first.names)
    results = [r for _, r in items if r is not None]
    if populations is None:
        pops = list(results[0].names) if results else []
    else:
        pops = list(populations)
        if not results:
            raise StrategyError("to_anndata: populations= needs GatingResults, not bare Samples.")
    rng = np.random.default_rng(seed)
    blocks: list[np.ndarray] = []
    obs_parts: list[pd.DataFrame] = []
    sources: dict[str, dict[str, Any]] = {}
    for sample, result in items:
        idx = np.arange(len(sample))
        if max_events_per_sample is not None and len(sample) > max_events_per_sample:
            idx = np.sort(rng.choice(len(sample), size=max_events_per_sample, replace=False))
        blocks.append(np.asarray(sample.columns(keys), dtype=np.float32)[idx])
        obs = pd.DataFrame({"sample": sample.name, "event": idx})
        if result is not None:
            for name in pops:
                if name not in result.masks:
                    raise StrategyError(
                        f"to_anndata: population {name!r} is not in the result of sample "
                        f"{sample.name!r}; it has {list(result.names)}."
                    )
                obs[name] = np.asarray(result.mask(name), dtype=bool)[idx]
        for column, value in rows.get(sample.name, {}).items():
            if column != "sample" and column not in obs:
                obs[column] = value
        obs.index = [f"{sample.name}:{i}" for i in idx]
        obs_parts.append(obs)
        sources[sample.name] = {
            "source": "" if sample.path is None else str(sample.path),
            "n_events": len(sample),
        }
    obs_all = pd.concat(obs_parts)
    for column in obs_all.columns:
        values = obs_all[column]
        if values.dtype == object:  # text sheet columns: categorical, missing stays missing
            obs_all[column] = pd.Categorical(values.where(values.isna(), values.astype(str)))
    obs_all["sample"] = obs_all["sample"].astype(str).astype("category")
    var = pd.DataFrame(
        {
            "detector": [first.channel(k).name for k in keys],
            "marker": [first.channel(k).marker or "" for k in keys],
        },
        index=[str(k) for k in keys],
    )
    uns = {"bcsc_flow": {"version": __version__, "samples": sources}}
    return anndata.AnnData(X=np.vstack(blocks), obs=obs_all, var=var, uns=uns)
