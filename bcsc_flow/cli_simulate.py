"""``bcsc-flow simulate``: write a synthetic experiment with ground truth."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_simulate"]


def _cmd_simulate(args: argparse.Namespace) -> int:
    from bcsc_flow.simulate import experiment

    res = experiment(
        args.dir,
        seed=args.seed,
        profile=args.profile,
        scenario=args.scenario,
        n_replicates=args.replicates,
        n_batches=args.batches,
        events_per_tube=args.events,
        clog_samples=tuple(args.clog),
        already_compensated=args.already_compensated,
        progress=not args.quiet,
    )
    sys.stdout.write(
        f"wrote {len(res.files)} FCS files, {res.sheet_path.name}, {res.truth_path.name}, "
        f"{res.params_path.name} and {res.truth_dir.name}/ to {res.out_dir}\n"
    )
    return 0


def add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate", help="write a seeded synthetic irradiation experiment with ground truth"
    )
    p.add_argument("dir", help="output folder (created; files of the same names are replaced)")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same bytes)")
    p.add_argument("--profile", default="aria", help="instrument: aria, fortessa, cytoflex, legacy")
    p.add_argument("--scenario", default="default", help="default, realistic, null, null_damaged")
    p.add_argument("--events", type=int, default=40_000, help="events per test tube")
    p.add_argument("--replicates", type=int, default=3, help="replicates per arm")
    p.add_argument("--batches", type=int, default=3, help="batches (days)")
    p.add_argument(
        "--clog", nargs="*", default=[], metavar="SAMPLE", help="test samples with a clog"
    )
    p.add_argument(
        "--already-compensated",
        action="store_true",
        help="write compensated data but keep $SPILLOVER (the compensate-twice trap)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_simulate)
