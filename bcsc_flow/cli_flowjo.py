"""``bcsc-flow import-flowjo``: FlowJo 10 workspaces to Gating-ML or a template."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_import_flowjo"]


def _cmd_import_flowjo(args: argparse.Namespace) -> int:
    from bcsc_flow.flowjo import read_workspace

    ws = read_workspace(args.wsp, folder=args.folder, skip_unsupported=args.skip_unsupported)
    out = sys.stdout
    chosen = [ws.sample(args.sample)] if args.sample else list(ws.samples)
    for s in chosen:
        out.write(f"sample {s.name!r} ({s.file_name}): {len(s.populations)} populations, ")
        out.write(f"FlowJo total {s.flowjo_total if s.flowjo_total is not None else '?'}\n")
        for p in s.populations:
            count = "-" if p.flowjo_count is None else str(p.flowjo_count)
            out.write(f"  {'/'.join(p.path):<48} {p.element:<22} {count:>10}\n")
    if args.compare:
        table = ws.compare_counts(args.folder)
        out.write(table.to_string(index=False) + "\n")
    if args.out and args.out.lower().endswith((".yaml", ".yml")):
        from pathlib import Path

        from bcsc_flow.errors import FlowJoError
        from bcsc_flow.template_convert import template_from_workspace

        if not chosen:
            raise FlowJoError(f"import-flowjo: the workspace {args.wsp} has no samples.")
        target = Path(args.out)  # a template of --sample, else of the first sample
        tpl = template_from_workspace(ws, chosen[0].name, name=args.name, folder=args.folder,
                                      matrix_csv=target.with_suffix(".spillover.csv"))  # fmt: skip
        path = tpl.save(target, overwrite=args.overwrite)
        out.write(f"wrote template {tpl.name!r} for sample {chosen[0].name!r} to {path}\n")
    elif args.out:
        from bcsc_flow import gatingml
        from bcsc_flow.errors import FlowJoError

        if len(chosen) != 1:
            raise FlowJoError(
                f"import-flowjo: the workspace has {len(chosen)} samples; choose one with --sample "
                f"({', '.join(ws.sample_names)})."
            )
        path = gatingml.write(chosen[0].strategy(), args.out, overwrite=args.overwrite)
        out.write(f"wrote Gating-ML 2.0 for sample {chosen[0].name!r} to {path}\n")
    return 0


def add_import_flowjo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-flowjo", help="read a FlowJo 10 workspace; write its gates as Gating-ML"
    )
    p.add_argument("wsp", help="FlowJo workspace (.wsp)")
    p.add_argument(
        "--out",
        help="write the sample's gating strategy as Gating-ML 2.0 to this file, or as a "
        "bcsc_flow template when it ends in .yaml/.yml",
    )
    p.add_argument("--sample", help="sample name (needed with --out when there are several)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--name", help="template name with --out *.yaml (default: the workspace's)")
    p.add_argument("--folder", help="folder holding the FCS files (default: as the workspace says)")
    p.add_argument("--compare", action="store_true", help="gate the FCS files, compare with FlowJo")
    p.add_argument(
        "--skip-unsupported", action="store_true", help="leave out unsupported gates (warning)"
    )
    p.set_defaults(func=_cmd_import_flowjo)
