"""Makes the scripted test server in this folder (``scripted.py``) and the fake API server package (``tests/fakeapi``)
importable whatever pytest's import mode."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
if str(_HERE.parent) not in sys.path:
    sys.path.append(str(_HERE.parent))  # last: only for ``fakeapi``, never shadowing anything else
