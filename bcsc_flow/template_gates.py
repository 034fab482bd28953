"""Validation of template populations: gate kinds, threshold recipes, references and cycles.

Example
-------
>>> from bcsc_flow.template_checker import Checker
>>> gate(Checker("t.yaml"), {"ref": "BCSC"}, "populations[4].gate")
{'ref': 'BCSC'}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bcsc_flow.errors import TemplateError
from bcsc_flow.template_checker import ROOT, SCOPES, Checker

__all__ = ["GATE_KINDS", "VALUE_KINDS", "check_references", "gate", "populations", "walk_gate"]

VALUE_KINDS = ("control_quantile", "density_valley")
GATE_KINDS = (
    "threshold", "range", "rectangle", "polygon", "singlet_fit", "cells", "mixture",
    "stable_flow", "ref", "and", "or", "not",
)  # fmt: skip


def _value(c: Checker, value: Any, path: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, Mapping) or len(value) != 1:
        raise c.fail(path, value, f"expected a number or one of {', '.join(VALUE_KINDS)}")
    ((kind, args),) = value.items()
    sub = f"{path}.{kind}"
    if kind == "control_quantile":
        return {kind: c.mapping(args, sub, {
            "control": (c.text, True, None),
            "q": (c.probability, False, 0.995),
            "multiply": (c.number, False, 1.0),
            "offset": (c.number, False, 0.0),
            "within": (c.text, False, None),
        })}  # fmt: skip
    if kind == "density_valley":
        return {kind: c.mapping(args, sub, {
            "search": (c.pair, False, None),
            "adjust": (c.number, False, 1.0),
            "fallback": (c.choice(("range_low", "range_high", "error")), False, "range_high"),
            "other_peak": (c.choice(("any", "below", "above")), False, "any"),
            "min_separation": (c.number, False, 0.0),
            "scope": (c.choice(SCOPES), False, "per_sample"),
        })}  # fmt: skip
    raise c.fail(
        path,
        kind,
        f"unknown threshold recipe; allowed: {', '.join(VALUE_KINDS)}",
        list(VALUE_KINDS),
    )


def gate(c: Checker, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise c.fail(path, value, f"expected a mapping with one gate kind: {', '.join(GATE_KINDS)}")
    ((kind, args),) = value.items()
    sub = f"{path}.{kind}"
    dims = c.listof(c.text, min_len=2, max_len=2)
    if kind == "threshold":
        out = c.mapping(args, sub, {
            "dim": (c.text, True, None),
            "above": (lambda v, p: _value(c, v, p), False, None),
            "below": (lambda v, p: _value(c, v, p), False, None),
            "check": (lambda v, p: _value(c, v, p), False, None),
            "tolerance": (c.number, False, 0.25),
        })  # fmt: skip
        if ("above" in out) == ("below" in out):
            raise c.fail(sub, args, "give exactly one of above: or below:")
    elif kind == "range":
        out = c.mapping(args, sub, {"dim": (c.text, True, None), "min": (c.number, False, None),
                                    "max": (c.number, False, None)})  # fmt: skip
        if "min" not in out and "max" not in out:
            raise c.fail(sub, args, "give min:, max: or both")
    elif kind == "rectangle":
        out = c.mapping(args, sub, {"dims": (c.listof(c.text, min_len=1), True, None),
                                    "min": (c.listof(c.number), True, None),
                                    "max": (c.listof(c.number), True, None)})  # fmt: skip
        if not len(out["dims"]) == len(out["min"]) == len(out["max"]):
            raise c.fail(sub, args, "dims, min and max need the same length")
    elif kind == "polygon":
        vertex = c.listof(c.number, min_len=2, max_len=2)
        out = c.mapping(args, sub, {"dims": (dims, True, None),
                                    "vertices": (c.listof(vertex, min_len=3), True, None)})  # fmt: skip
    elif kind == "singlet_fit":
        out = c.mapping(args, sub, {"dims": (dims, True, None), "band": (c.number, False, 4.0),
                                    "scope": (c.choice(SCOPES), False, "per_sample")})  # fmt: skip
    elif kind == "cells":
        out = c.mapping(args, sub, {
            "dims": (dims, True, None),
            "method": (c.choice(("density", "mixture")), False, "density"),
            "search": (c.pair, False, None),
            "components": (c.positive_int, False, 2),
            "quantile": (c.probability, False, 0.99),
            "scope": (c.choice(SCOPES), False, "per_sample"),
        })  # fmt: skip
    elif kind == "mixture":
        out = c.mapping(args, sub, {
            "dims": (c.listof(c.text, min_len=1, max_len=2), True, None),
            "components": (c.positive_int, True, None),
            "target": (c.listof(c.number, min_len=1, max_len=2), False, None),
            "quantile": (c.probability, False, None),
            "probability": (c.probability, False, None),
            "scope": (c.choice(SCOPES), False, "per_sample"),
        })  # fmt: skip
        if ("quantile" in out) == ("probability" in out):
            raise c.fail(sub, args, "give exactly one of quantile: (ellipse) or probability:")
        if "target" in out and len(out["target"]) != len(out["dims"]):
            raise c.fail(f"{sub}.target", args.get("target"), "one target value per dimension")
    elif kind == "stable_flow":
        out = c.mapping(args, sub, {
            "time": (c.text, True, None),
            "watch": (c.listof(c.text), False, list),
            "z": (c.number, False, 5.0),
            "bins": (c.positive_int, False, None),
        })  # fmt: skip
    elif kind == "ref":
        out = c.text(args, sub)
    elif kind in ("and", "or"):
        out = c.listof(lambda v, p: gate(c, v, p), min_len=2)(args, sub)
    elif kind == "not":
        out = gate(c, args, sub)
    else:
        raise c.fail(
            path, kind, f"unknown gate kind; allowed: {', '.join(GATE_KINDS)}", list(GATE_KINDS)
        )
    return {kind: out}


def populations(c: Checker, value: Any, path: str) -> list[dict[str, Any]]:
    fields = {
        "name": (c.text, True, None),
        "parent": (c.text, True, None),
        "gate": (lambda v, p: gate(c, v, p), True, None),
        "description": (c.text, False, None),
    }
    return c.listof(lambda v, p: c.mapping(v, p, fields), min_len=1)(value, path)


# ----------------------------------------------------------------------------- references
def walk_gate(spec: Mapping[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """Every (path, kind, args) of a gate spec and its nested operands."""
    ((kind, args),) = spec.items()
    yield path, kind, args
    if kind in ("and", "or"):
        for i, g in enumerate(args):
            yield from walk_gate(g, f"{path}.{kind}[{i}]")
    elif kind == "not":
        yield from walk_gate(args, f"{path}.not")


def _gate_markers(kind: str, args: Any) -> list[tuple[str, str]]:
    """(key, marker) pairs a gate reads."""
    if kind in ("threshold", "range"):
        return [("dim", args["dim"])]
    if kind in ("rectangle", "polygon", "singlet_fit", "cells", "mixture"):
        return [(f"dims[{i}]", m) for i, m in enumerate(args["dims"])]
    if kind == "stable_flow":
        return [("time", args["time"])] + [(f"watch[{i}]", m) for i, m in enumerate(args["watch"])]
    return []


def check_references(c: Checker, doc: dict[str, Any]) -> None:
    panel, pops, controls = doc["panel"], doc["populations"], doc["controls"]
    names = [p["name"] for p in pops]
    seen: set[str] = set()
    for i, pop in enumerate(pops):
        if pop["name"] == ROOT or pop["name"] in seen:
            raise c.fail(
                f"populations[{i}].name",
                pop["name"],
                "population names must be unique and not 'root'",
            )
        seen.add(pop["name"])
    for i, pop in enumerate(pops):
        if pop["parent"] != ROOT and pop["parent"] not in seen:
            raise c.fail(
                f"populations[{i}].parent",
                pop["parent"],
                "unknown parent; use 'root' or a population name",
                [ROOT, *names],
            )
        for sub, kind, args in walk_gate(pop["gate"], f"populations[{i}].gate"):
            for key, marker in _gate_markers(kind, args):
                if marker not in panel:
                    raise c.fail(
                        f"{sub}.{kind}.{key}", marker, "marker is not in the panel", list(panel)
                    )
            if kind == "ref" and args not in seen:
                raise c.fail(f"{sub}.ref", args, "unknown population", names)
            if kind == "threshold":
                for side in ("above", "below", "check"):
                    spec = args.get(side)
                    if isinstance(spec, dict) and "control_quantile" in spec:
                        cq = spec["control_quantile"]
                        where = f"{sub}.threshold.{side}.control_quantile"
                        if cq["control"] not in controls:
                            raise c.fail(
                                f"{where}.control",
                                cq["control"],
                                "control role is not declared under `controls:`",
                                list(controls),
                            )
                        if cq.get("within") not in (None, ROOT) and cq["within"] not in seen:
                            raise c.fail(
                                f"{where}.within", cq["within"], "unknown population", names
                            )
    _check_cycles(c, pops)
    for i, item in enumerate(doc["qc"]):
        for key in ("population", "of"):
            if item.get(key) is not None and item[key] not in seen and item[key] != ROOT:
                raise c.fail(f"qc[{i}].{key}", item[key], "unknown population", names)
        if item["in"] != "test" and item["in"] not in controls:
            raise c.fail(
                f"qc[{i}].in",
                item["in"],
                "expected 'test' or a declared control role",
                ["test", *controls],
            )


def _check_cycles(c: Checker, pops: list[dict[str, Any]]) -> None:
    parent = {p["name"]: p["parent"] for p in pops}
    refs = {p["name"]: [a for _, k, a in walk_gate(p["gate"], "") if k == "ref"] for p in pops}
    for i, pop in enumerate(pops):
        chain = [pop["name"]]
        node = pop["parent"]
        while node != ROOT:
            if node in chain:
                loop = " -> ".join([*chain, node])
                raise TemplateError(
                    f"{c.source}: populations[{i}].parent: cycle in parents: {loop}."
                )
            chain.append(node)
            node = parent[node]
        stack, seen = list(refs[pop["name"]]), set()
        while stack:
            r = stack.pop()
            if r == pop["name"]:
                raise TemplateError(
                    f"{c.source}: populations[{i}].gate: {pop['name']!r} refers to itself through ref."
                )
            if r not in seen:
                seen.add(r)
                stack.extend(refs[r])
