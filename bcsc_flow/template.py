"""Portable gating templates: YAML documents written in markers, resolved per sample or batch.

A :class:`Template` is the validated, normalised content of a YAML file
(``yaml.safe_load`` only): ``schema_version``; ``name``/``version``/``description``/
``authors``; a ``panel`` (marker → ``$PnS`` stain names and detector aliases, see
:mod:`bcsc_flow.markers`); a ``compensation`` policy (``file``, ``controls``, ``none`` or
``{matrix: path}``); per-marker ``transforms``; ``controls`` (the roles the recipes use
and how each is matched: per ``batch`` or per test sample ``pair``); ``populations`` (a
list of name, parent, gate — fixed geometry or a recipe, in marker names); and ``qc``
expectations. Validation is strict (:mod:`bcsc_flow.template_schema`); older schemas are
upgraded with a warning. :attr:`Template.digest` is the sha256 of a canonical JSON form,
so it does not change with key order, comments or YAML layout.

:meth:`Template.resolve` turns the template plus samples and a sample sheet into one frozen
:class:`~bcsc_flow.strategy.GatingStrategy` per test sample and a thresholds table
(:mod:`bcsc_flow.template_resolve`).

Example
-------
>>> tpl = load_template("bcsc")
>>> tpl.name, len(tpl.digest), [p["name"] for p in tpl.populations][:3]
('bcsc', 64, ['cells', 'singlets', 'live'])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bcsc_flow.atomic import atomic_write_text
from bcsc_flow.errors import TemplateError, TemplateWarning, did_you_mean, warn
from bcsc_flow.frozen import FrozenMap
from bcsc_flow.template_schema import CURRENT_SCHEMA, ROOT, upgrade, validate

if TYPE_CHECKING:
    import pandas as pd

    from bcsc_flow.markers import MarkerMap
    from bcsc_flow.sample import Sample
    from bcsc_flow.template_resolve import Resolution

__all__ = ["BUILTIN_DIR", "Template", "builtin_templates", "load_template", "parse_template"]

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenMap({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class Template:
    """A validated gating template (build it with :func:`load_template`/:func:`parse_template`).

    Sections are read-only mappings/tuples of plain values, exactly as normalised by the
    schema. Two templates are equal when their digests are; templates pickle (for worker
    processes).

    Example
    -------
    >>> tpl = load_template("bcsc")
    >>> tpl.controls["deab"]["match"], tpl == load_template("bcsc")
    ('pair', True)
    """

    name: str
    version: str
    description: str
    authors: tuple[str, ...]
    panel: Mapping[str, Any]
    compensation: Mapping[str, Any]
    transforms: Mapping[str, Any]
    controls: Mapping[str, Any]
    populations: tuple[Mapping[str, Any], ...]
    qc: tuple[Mapping[str, Any], ...]
    source: str = "<template>"
    schema_version: int = CURRENT_SCHEMA
    changelog: tuple[Mapping[str, Any], ...] = ()
    _digest: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str = "<template>") -> Template:
        """Validate a template mapping (any supported schema) and build the Template."""
        version = doc.get("schema_version") if isinstance(doc, Mapping) else None
        if isinstance(doc, Mapping) and version != CURRENT_SCHEMA:
            doc, notes = upgrade(doc, source)
            warn(
                f"{source}: template schema_version {version!r} upgraded to {CURRENT_SCHEMA} "
                f"({'; '.join(notes)}); save it again to silence this.",
                TemplateWarning,
            )
        norm = validate(doc, source)
        canonical = json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return cls(
            name=norm["name"],
            version=norm["version"],
            description=norm["description"],
            authors=tuple(norm["authors"]),
            panel=_freeze(norm["panel"]),
            compensation=_freeze(norm["compensation"]),
            transforms=_freeze(norm["transforms"]),
            controls=_freeze(norm["controls"]),
            populations=_freeze(norm["populations"]),
            qc=_freeze(norm["qc"]),
            source=source,
            schema_version=norm["schema_version"],
            changelog=_freeze(norm["changelog"]),
            _digest=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        )

    @property
    def digest(self) -> str:
        """sha256 hex digest of the canonical (normalised, key-sorted JSON) template."""
        return self._digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def to_document(self) -> dict[str, Any]:
        """The normalised template as plain dicts/lists (what the digest is taken of)."""
        return {
            "schema_version": self.schema_version, "name": self.name, "version": self.version,
            "description": self.description, "authors": list(self.authors),
            "changelog": _thaw(self.changelog), "panel": _thaw(self.panel),
            "compensation": _thaw(self.compensation), "transforms": _thaw(self.transforms),
            "controls": _thaw(self.controls), "populations": _thaw(self.populations),
            "qc": _thaw(self.qc),
        }  # fmt: skip

    def to_yaml(self) -> str:
        """The normalised template as YAML text (loads back to the same digest).

        Example
        -------
        >>> tpl = load_template("bcsc")
        >>> parse_template(tpl.to_yaml()).digest == tpl.digest
        True
        """
        import yaml

        return yaml.safe_dump(_drop_empty(self.to_document()), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_yaml` to ``path`` atomically; return the path.

        An existing file is replaced only with ``overwrite=True`` (TemplateError otherwise).

        Example
        -------
        >>> import tempfile, pathlib
        >>> p = load_template("bcsc").save(pathlib.Path(tempfile.mkdtemp()) / "bcsc.yaml")
        >>> load_template(p).digest == load_template("bcsc").digest
        True
        """
        out = Path(path)
        if out.exists() and not overwrite:
            raise TemplateError(
                f"{out}: file exists; pass overwrite=True (CLI: --overwrite) to replace it"
            )
        atomic_write_text(out, self.to_yaml())
        return out

    # ------------------------------------------------------------------ structure
    def population(self, name: str) -> Mapping[str, Any]:
        """The entry of one population by name."""
        for pop in self.populations:
            if pop["name"] == name:
                return pop
        names = [p["name"] for p in self.populations]
        raise TemplateError(f"{self.source}: no population {name!r}.{did_you_mean(name, names)}")

    def children(self, parent: str) -> list[str]:
        """Names of the populations whose parent is ``parent`` (``"root"`` for the top)."""
        return [p["name"] for p in self.populations if p["parent"] == parent]

    def tree(self) -> str:
        """The population tree as indented text, with each gate's kind.

        Example
        -------
        >>> print(load_template("bcsc").tree().splitlines()[0])
        cells  [cells]
        """
        lines: list[str] = []

        def walk(parent: str, depth: int) -> None:
            for name in self.children(parent):
                gate = self.population(name)["gate"]
                lines.append(f"{'  ' * depth}{name}  [{_describe_gate(gate)}]")
                walk(name, depth + 1)

        walk(ROOT, 0)
        return "\n".join(lines)

    def transform(self, marker: str) -> Any:
        """The scale transform of a marker (None for scatter, time, or no transform).

        Example
        -------
        >>> load_template("bcsc").transform("CD44").gatingml_name
        'logicle'
        """
        if self.panel[marker]["kind"] != "fluorescence":
            return None
        spec = self.transforms.get(marker) or self.transforms.get("fluorescence")
        if not spec:
            return None
        from bcsc_flow import transforms as tr

        ((kind, p),) = spec.items()
        if kind == "linear":
            return tr.Linear(p["T"], p["A"])
        if kind == "log":
            return tr.Log(p["T"], p["M"])
        if kind == "asinh":
            return tr.Asinh(p["T"], p["M"], p["A"])
        if kind == "logicle":
            return tr.Logicle(p["T"], p["W"], p["M"], p["A"])
        return tr.Hyperlog(p["T"], p["W"], p["M"], p["A"])

    def required_roles(self) -> tuple[str, ...]:
        """Control roles the template declares (every one must be in each batch's sheet)."""
        return tuple(self.controls)

    # ------------------------------------------------------------------ resolution
    def match_markers(
        self, sample: Sample, overrides: Mapping[str, str] | None = None
    ) -> MarkerMap:
        """Resolve the panel on one sample (see :func:`bcsc_flow.markers.match_panel`)."""
        from bcsc_flow.markers import match_panel

        return match_panel(sample, self.panel, overrides)

    def resolve(self, samples: Mapping[str, Sample], sheet: pd.DataFrame) -> Resolution:
        """Freeze the template against samples and their sheet (see :func:`bcsc_flow.template_resolve.resolve`)."""
        from bcsc_flow.template_resolve import resolve

        return resolve(self, samples, sheet)

    def __repr__(self) -> str:
        return f"Template({self.name!r} {self.version}, {len(self.populations)} populations, digest {self.digest[:12]})"


def _describe_gate(gate: Mapping[str, Any]) -> str:
    ((kind, args),) = gate.items()
    if kind in ("and", "or"):
        return f" {kind} ".join(_describe_gate(g) for g in args)
    if kind == "not":
        return f"not {_describe_gate(args)}"
    if kind == "ref":
        return f"same gate as {args!r}"
    if kind == "threshold":
        side = "above" if "above" in args else "below"
        value = args[side]
        how = f"{value:g}" if isinstance(value, float) else next(iter(value))
        if isinstance(value, Mapping) and "control_quantile" in value:
            cq = value["control_quantile"]
            how = f"{cq['control']} q{cq['q']:g}" + (
                f" x{cq['multiply']:g}" if cq["multiply"] != 1 else ""
            )
        return f"{args['dim']} {side} {how}"
    return kind


def _drop_empty(value: Any) -> Any:
    """Optional text left empty is written as absent (the schema refuses empty text)."""
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def parse_template(text: str, source: str = "<string>") -> Template:
    """Build a Template from YAML text (``yaml.safe_load``).

    Example
    -------
    >>> parse_template("schema_version: 1\\nname: x\\nversion: '1'\\npanel: {CD44: {}}\\n"
    ...                "populations: [{name: p, parent: root, gate: {range: {dim: CD44, min: 0}}}]").name
    'x'
    """
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from exc
    return Template.from_document(doc, source)


def builtin_templates() -> tuple[str, ...]:
    """Names of the templates shipped with bcsc_flow.

    Example
    -------
    >>> "bcsc" in builtin_templates()
    True
    """
    return tuple(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))


def load_template(name_or_path: str | Path | Template) -> Template:
    """A built-in template by name (``"bcsc"``) or a template YAML file by path.

    Example
    -------
    >>> load_template("bcsc").version
    '1.0.0'
    """
    if isinstance(name_or_path, Template):
        return name_or_path
    text_name = str(name_or_path)
    path = Path(text_name)
    if text_name in builtin_templates():
        path = BUILTIN_DIR / f"{text_name}.yaml"
    elif not path.is_file():
        raise TemplateError(
            f"template {text_name!r} is neither a built-in template "
            f"({', '.join(builtin_templates())}) nor an existing file."
            f"{did_you_mean(text_name, builtin_templates())}"
        )
    return parse_template(path.read_text(encoding="utf-8"), str(path))
