"""The ``bcsc-flow`` command line: parses arguments and calls the library.

Exit codes: 0 success, 1 a :class:`~bcsc_flow.errors.BcscFlowError` (message only,
traceback with ``--debug``), 2 usage error.

Example
-------
>>> sorted(build_parser()._subparsers._group_actions[0].choices)[:3]
['analyze', 'cohorts', 'compare']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bcsc_flow import __version__
from bcsc_flow.cli_analyze import add_analyze
from bcsc_flow.cli_compare import add_cohorts, add_compare
from bcsc_flow.cli_flowjo import add_import_flowjo
from bcsc_flow.cli_info import add_info
from bcsc_flow.cli_report import add_report
from bcsc_flow.cli_simulate import add_simulate
from bcsc_flow.cli_sorting import add_export_population, add_sort_report
from bcsc_flow.cli_template import add_template
from bcsc_flow.errors import BcscFlowError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


# One function per subcommand, each in its own cli_<area>.py module.
_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_info,
    add_analyze,
    add_simulate,
    add_template,
    add_compare,
    add_cohorts,
    add_sort_report,
    add_export_population,
    add_import_flowjo,
    add_report,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bcsc-flow`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bcsc-flow", description="Flow-cytometry gating and sorting analysis (bcsc_flow)."
    )
    parser.add_argument("--version", action="version", version=f"bcsc-flow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except BcscFlowError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"bcsc-flow: error: {exc}\n")
        return 1
    except FileNotFoundError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"bcsc-flow: error: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
