"""``bcsc-flow info``: describe an FCS file."""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["add_info"]


def _cmd_info(args: argparse.Namespace) -> int:
    from bcsc_flow.io.fcs import read_fcs_datasets

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = read_fcs_datasets(args.file)
    out = sys.stdout
    first = samples[0]
    out.write(f"file:      {args.file}\n")
    out.write(f"version:   {first.version or 'unknown'}\n")
    out.write(f"data sets: {len(samples)}\n")
    for k, s in enumerate(samples):
        out.write(f"\n[data set {k}] {len(s)} events, {len(s.channels)} channels")
        out.write(f", $DATATYPE={s.keywords.get('$DATATYPE', '?').strip()}\n")
        out.write(f"  {'#':>3}  {'$PnN':<24} {'$PnS':<28} {'$PnR':>12} {'$PnB':>5}\n")
        for i, c in enumerate(s.channels, start=1):
            rng = "" if c.range is None else f"{c.range:g}"
            bits = "" if c.bits is None else str(c.bits)
            out.write(f"  {i:>3}  {c.name:<24} {c.marker or '':<28} {rng:>12} {bits:>5}\n")
        if s.spillover is not None:
            n = len(s.spillover.detectors)
            out.write(
                f"  spillover: {n}x{n} from {s.spillover.keyword} ({', '.join(s.spillover.detectors)})\n"
            )
        else:
            out.write("  spillover: none\n")
    messages = [str(w.message) for w in caught]
    out.write(f"\nwarnings: {len(messages)}\n")
    for m in messages:
        out.write(f"  - {m}\n")
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe an FCS file: data sets, events, channels, spillover")
    p.add_argument("file", help="path to an FCS file")
    p.set_defaults(func=_cmd_info)
