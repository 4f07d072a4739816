"""``lad plugins``: list the embodiments, frame sources and robot backends registered through entry points,
and every plugin that failed to load with its error."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plugins", help="list plugins (embodiments, frame sources, robot backends) and failures",
                              description=__doc__)
    p.add_argument("--traceback", action="store_true", help="print the traceback of each failure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lad_core import plugins

    n_failed = 0
    for group in plugins.GROUPS:
        loaded, failures = plugins.discover(group)
        if group == plugins.EMBODIMENTS:  # loaded, but the spec it returned is invalid (bad YAML, missing URDF)
            failures = failures + plugins.embodiment_spec_failures(known={f.name for f in failures})
            loaded = {k: v for k, v in loaded.items() if k not in {f.name for f in failures}}
        print(f"{group}:")
        for name, obj in sorted(loaded.items()):
            target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__name__)}"
            print(f"  {name:<16} {target}")
        for failure in failures:
            print(f"  {failure.name:<16} FAILED {failure.target}: {failure.error}")
            if args.traceback and failure.traceback:
                print("    " + failure.traceback.rstrip().replace("\n", "\n    "))
        if not loaded and not failures:
            print("  (none)")
        n_failed += len(failures)
    if n_failed:
        print(f"{n_failed} plugin(s) failed to load; the others work normally.")
    return 0
