"""Makes the builders in ``bundle_fixtures.py`` and the fake API server package (``tests/fakeapi``) importable
whatever pytest's import mode."""

from __future__ import annotations

import sys
from pathlib import Path

for _dir in (Path(__file__).parent, Path(__file__).parent.parent):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))
