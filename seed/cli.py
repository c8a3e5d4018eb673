"""`python -m seed generate --out DIR [--seed N]`: parse, call the library, map the outcome to an exit code.

Exit codes: 0 written, 2 bad arguments (named, with the accepted form), 1 the generator
itself broke a rule (a bug in seed/, reported with its evidence).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from seed.errors import SeedError, SeedUsageError
from seed.generate import generate_site, write_site
from seed.schema import SUMMARY_FILE

DEFAULT_SEED = 1


def _seed_value(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed; expected a non-negative integer such as 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seed", description="Deterministic MCM02 site generator.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    generate = commands.add_parser("generate", help="write tool.db, cloud_seed.json, plc_tags.json, summary.json")
    generate.add_argument("--out", required=True, metavar="DIR",
                          help="output directory (created if missing; existing seed files are replaced)")
    generate.add_argument("--seed", type=_seed_value, default=DEFAULT_SEED, metavar="N",
                          help=f"non-negative integer; the same seed gives byte-identical files (default {DEFAULT_SEED})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 itself on a bad or missing argument
    try:
        paths = write_site(generate_site(args.seed), args.out)
    except SeedUsageError as exc:
        parser.exit(2, f"{parser.prog} generate: error: argument {exc.argument}: {exc}\n")
    except SeedError as exc:
        print(f"{parser.prog} generate: internal error: {exc}", file=sys.stderr)
        return 1
    print(paths[SUMMARY_FILE].read_text(encoding="ascii"), end="")
    return 0
