"""Strict validation of gating templates (YAML documents) and upgrades of old schemas.

:func:`validate` takes the mapping read by ``yaml.safe_load`` and returns a normalised
plain-data copy (defaults filled in, every key known, every name resolved) or raises
:class:`~bcsc_flow.errors.TemplateError` naming the file, the key path
(``populations[5].gate.threshold.above``), the value received and what is allowed.

The schema (version 1) is described in ``bcsc_flow/templates/README.md``; gate kinds
and recipe kinds are listed in :data:`bcsc_flow.template_gates.GATE_KINDS` and
:data:`~bcsc_flow.template_gates.VALUE_KINDS`.

Example
-------
>>> doc = {"schema_version": 1, "name": "t", "version": "1", "panel": {"CD44": {}},
...        "populations": [{"name": "pos", "parent": "root",
...                         "gate": {"threshold": {"dim": "CD44", "above": 500}}}]}
>>> validate(doc, "t.yaml")["populations"][0]["gate"]["threshold"]["above"]
500.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bcsc_flow.errors import TemplateError
from bcsc_flow.template_checker import (
    COMPENSATION,
    CURRENT_SCHEMA,
    MATCHES,
    ROLE,
    ROOT,
    TRANSFORM_PARAMS,
    Checker,
    Spec,
)
from bcsc_flow.template_gates import check_references, populations

__all__ = ["CURRENT_SCHEMA", "ROOT", "upgrade", "validate"]


# ----------------------------------------------------------------------------- sections
def _panel(c: Checker, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise c.fail(path, value, "expected a mapping of marker names to entries")
    fields = {
        "stain": (c.listof(c.text), False, None),
        "detectors": (c.listof(c.text), False, list),
        "fluor": (c.text, False, None),
        "kind": (c.choice(("fluorescence", "scatter", "time")), False, "fluorescence"),
        "optional": (c.flag, False, False),
    }
    out: dict[str, Any] = {}
    for marker, entry in value.items():
        name = c.text(marker, f"{path} key")
        sub = c.mapping(entry if entry is not None else {}, f"{path}.{name}", fields)
        sub.setdefault("stain", [] if sub["kind"] != "fluorescence" else [name])
        out[name] = sub
    return out


def _transform(c: Checker, value: Any, path: str) -> dict[str, Any]:
    kinds = tuple(TRANSFORM_PARAMS)
    if isinstance(value, str):
        if value != "linear":
            raise c.fail(
                path, value, "a transform without parameters must be 'linear'", list(kinds)
            )
        return {"linear": {"T": 262144.0, "A": 0.0}}
    if not isinstance(value, Mapping) or len(value) != 1:
        raise c.fail(path, value, f"expected one of {', '.join(kinds)} with its parameters")
    ((kind, params),) = value.items()
    if kind not in TRANSFORM_PARAMS:
        raise c.fail(
            f"{path}", kind, f"unknown transform; allowed: {', '.join(kinds)}", list(kinds)
        )
    names = TRANSFORM_PARAMS[kind]
    optional = {"A"}
    fields = {n: (c.number, n not in optional, 0.0 if n in optional else None) for n in names}
    return {kind: c.mapping(params or {}, f"{path}.{kind}", fields)}


def _compensation(c: Checker, value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, str):
        if value == "matrix":
            raise c.fail(
                path, value, "give the matrix file as `compensation: {matrix: path/to.csv}`"
            )
        return {"source": c.choice(COMPENSATION)(value, path)}
    if isinstance(value, Mapping) and "source" in value:  # the normalised form
        fields = {
            "source": (c.choice((*COMPENSATION, "matrix")), True, None),
            "matrix": (c.text, False, None),
        }
        out = c.mapping(value, path, fields)
        if (out["source"] == "matrix") != ("matrix" in out):
            raise c.fail(path, dict(value), "give matrix: exactly when source is 'matrix'")
        return out
    return {"source": "matrix", **c.mapping(value, path, {"matrix": (c.text, True, None)})}


def _role(c: Checker, panel: Mapping[str, Any]) -> Spec:
    def check(value: Any, path: str) -> str:
        text = c.text(value, path)
        m = ROLE.match(text)
        if not m:
            raise c.fail(
                path,
                value,
                "a control role is unstained, deab, fmo:<MARKER>, isotype:<MARKER> or single:<MARKER>",
                ["unstained", "deab", *(f"fmo:{k}" for k in panel)],
            )
        marker = m.group("marker")
        if marker is not None and marker not in panel:
            raise c.fail(
                path,
                value,
                f"marker {marker!r} is not in the panel",
                [f"{m.group(2)}:{k}" for k in panel],
            )
        return text

    return check


def _controls(c: Checker, value: Any, path: str, panel: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise c.fail(path, value, "expected a mapping of control roles to {match: batch|pair}")
    role = _role(c, panel)
    fields = {
        "match": (c.choice(MATCHES), False, "batch"),
        "alternatives": (c.listof(role), False, list),
    }
    return {
        role(k, f"{path} key"): c.mapping(v or {}, f"{path}.{k}", fields) for k, v in value.items()
    }


def _qc(c: Checker, value: Any, path: str) -> list[dict[str, Any]]:
    fields = {
        "population": (c.text, True, None),
        "of": (c.text, False, None),
        "in": (c.text, False, "test"),
        "min": (c.number, False, None),
        "max": (c.number, False, None),
    }
    items = c.listof(lambda v, p: c.mapping(v, p, fields))(value, path)
    for i, item in enumerate(items):
        if "min" not in item and "max" not in item:
            raise c.fail(f"{path}[{i}]", value[i], "a QC expectation needs min, max or both")
    return items


# ----------------------------------------------------------------------------- entry points
def upgrade(doc: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """Bring an older schema to :data:`CURRENT_SCHEMA`; return it and notes of what changed.

    Schema 0 (pre-release) named the panel ``markers`` and the population list ``gates``
    with ``population`` instead of ``name``.

    Example
    -------
    >>> new, notes = upgrade({"schema_version": 0, "markers": {"CD44": {}}, "gates": []}, "x")
    >>> sorted(new), len(notes)
    (['panel', 'populations', 'schema_version'], 3)
    """
    out = dict(doc)
    version = out.get("schema_version")
    notes: list[str] = []
    if version == 0:
        if "markers" in out:
            out["panel"] = out.pop("markers")
            notes.append("'markers' renamed to 'panel'")
        if "gates" in out:
            out["populations"] = [
                {("name" if k == "population" else k): v for k, v in g.items()}
                if isinstance(g, Mapping)
                else g
                for g in out.pop("gates")
            ]
            notes.append("'gates' renamed to 'populations' (and 'population' to 'name')")
        out["schema_version"] = 1
        notes.append("schema_version 0 -> 1")
    elif version != CURRENT_SCHEMA:
        raise TemplateError(
            f"{source}: schema_version = {version!r}: this bcsc_flow reads schema versions 0 to "
            f"{CURRENT_SCHEMA}; upgrade bcsc_flow for newer templates."
        )
    return out, notes


def validate(doc: Any, source: str = "<template>") -> dict[str, Any]:
    """Validate a current-schema template mapping; return its normalised copy.

    Example
    -------
    >>> validate({"schema_version": 1, "name": "t"}, "t.yaml")
    Traceback (most recent call last):
    ...
    bcsc_flow.errors.TemplateError: t.yaml: version: required key is missing.
    """
    c = Checker(source)
    if not isinstance(doc, Mapping):
        raise c.fail(
            "(document)",
            doc,
            "a template is a YAML mapping with schema_version, name, panel, populations",
        )
    fields: dict[str, tuple[Spec, bool, Any]] = {
        "schema_version": (lambda v, p: v, True, None),
        "name": (c.text, True, None),
        "version": (c.text, True, None),
        "description": (c.text, False, ""),
        "authors": (c.listof(c.text), False, list),
        "changelog": (c.listof(lambda v, p: c.mapping(v, p, {"version": (c.text, True, None),
                                                           "changes": (c.text, True, None)})), False, list),
        "panel": (lambda v, p: _panel(c, v, p), True, None),
        "compensation": (lambda v, p: _compensation(c, v, p), False, lambda: {"source": "file"}),
        "transforms": (lambda v, p: v, False, dict),
        "controls": (lambda v, p: v, False, dict),
        "populations": (lambda v, p: populations(c, v, p), True, None),
        "qc": (lambda v, p: _qc(c, v, p), False, list),
    }  # fmt: skip
    out = c.mapping(doc, "", fields)
    if out["schema_version"] != CURRENT_SCHEMA:
        raise c.fail(
            "schema_version",
            out["schema_version"],
            f"expected {CURRENT_SCHEMA} (run upgrade first)",
        )
    panel = out["panel"]
    if not isinstance(out["transforms"], Mapping):
        raise c.fail(
            "transforms",
            out["transforms"],
            "expected a mapping of fluorescence markers (or 'fluorescence' for all) to transforms",
        )
    allowed_t = ["fluorescence", *(k for k, v in panel.items() if v["kind"] == "fluorescence")]
    transforms = {}
    for key, spec in out["transforms"].items():
        if key not in allowed_t:
            raise c.fail(
                f"transforms.{key}",
                key,
                "expected 'fluorescence', 'scatter' or a panel marker",
                allowed_t,
            )
        transforms[key] = _transform(c, spec, f"transforms.{key}")
    out["transforms"] = transforms
    out["controls"] = _controls(c, out["controls"], "controls", panel)
    check_references(c, out)
    return out
