"""The ``rillet`` command line. Commands import what they need when they run."""

from __future__ import annotations


def main() -> None:
    from rillet.cli._app import cli

    cli(prog_name="rillet")
