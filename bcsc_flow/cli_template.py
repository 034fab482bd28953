"""``bcsc-flow template``: check a template, export it frozen as Gating-ML."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_template"]


def _cmd_template(args: argparse.Namespace) -> int:
    from bcsc_flow.template import load_template
    from bcsc_flow.template_tools import describe, export_gatingml

    tpl = load_template(args.template)
    if args.template_command == "check":
        sample = None
        if args.fcs:
            from bcsc_flow.io.fcs import read_fcs

            sample = read_fcs(args.fcs)
        sys.stdout.write(describe(tpl, sample) + "\n")
        return 0
    paths = export_gatingml(tpl, args.folder, args.sheet, args.out, overwrite=args.overwrite)
    sys.stdout.write(f"wrote {len(paths) - 1} Gating-ML file(s) and thresholds.csv to {args.out}\n")
    return 0


def add_template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="check a gating template or export it frozen as Gating-ML")
    tsub = p.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    check = tsub.add_parser("check", help="validate; print the tree (and markers found in --fcs)")
    check.add_argument("template", help="built-in template name (bcsc) or a YAML file")
    check.add_argument("--fcs", help="an FCS file: show how each panel marker is found in it")
    check.set_defaults(func=_cmd_template)
    export = tsub.add_parser(
        "export-gatingml", help="freeze against a sheet; one Gating-ML file per test sample"
    )
    export.add_argument("template", help="built-in template name (bcsc) or a YAML file")
    export.add_argument("--folder", required=True, help="folder holding the FCS files")
    export.add_argument("--sheet", required=True, help="sample sheet CSV")
    export.add_argument("--out", required=True, help="output folder for the XML files")
    export.add_argument("--overwrite", action="store_true", help="replace existing XML files")
    export.set_defaults(func=_cmd_template)
