"""The ``curriculax`` command."""

from curriculax.cli.main import main

__all__ = ["main"]
