"""Entry point of the `lad` console script.

Subcommands live one per module in this package; every module that defines `register(subparsers)` is picked up,
so a new command is a new file. Modules import their heavy dependencies inside the command function, which keeps
`lad --help` fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from lad_core import __version__
from lad_core.errors import LadError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lad", description="LAD Studio: latent action diffusion tools.")
    parser.add_argument("--version", action="version", version=f"lad {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import lad_core.cli as cli_package

    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name in {"main"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"lad_core.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except LadError as exc:
        print(f"lad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
