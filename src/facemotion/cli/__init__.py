"""Command-line entry points; the only layer that parses arguments, prints, sets up logging and picks exit codes."""
