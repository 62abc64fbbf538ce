"""``python -m podmortem``."""

from podmortem.cli.main import main

main()
