"""Errors raised by the sources."""

from __future__ import annotations


class SourceError(Exception):
    """The input cannot be read at all: a missing path, an unreadable or corrupt archive, a bad argument.

    The message is one line meant for the user (the CLI prints it and exits with code 2).
    Problems with single files inside a bundle are never raised; they become snapshot warnings.
    """
