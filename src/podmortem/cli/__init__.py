"""The command line. Importing the package registers every command on :data:`podmortem.cli.main.cli`."""

from podmortem.cli import fix, main

__all__ = ["fix", "main"]
