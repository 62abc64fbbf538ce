"""Rule functions; importing this package registers them."""

from podmortem.rules.checks import fallback, logs, state

__all__ = ["fallback", "logs", "state"]
