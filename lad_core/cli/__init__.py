"""The `lad` command line. Each module here with a `register(subparsers)` function adds one subcommand."""
