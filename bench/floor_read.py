"""The floor for offline diagnosis: read every file of a bundle directory once and parse what is structured.

``*.json`` goes through ``json.loads``, ``*.yaml``/``*.yml`` through ``yaml.load_all`` with the libyaml
``CSafeLoader``, everything else (logs) is read and decoded as UTF-8. Nothing is kept: this is the least work
any tool that looks at the whole bundle has to do. Prints a one-line JSON summary.

With ``--keep`` every parsed document (and log text) is kept in memory until the end: what holding the whole
parsed bundle costs, a reference point for peak memory rather than a floor.

Usage: python bench/floor_read.py [--keep] BUNDLE_DIR
"""

from __future__ import annotations

import json
import os
import sys

import yaml

try:
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as Loader  # type: ignore[assignment]


def read_bundle(root: str, keep: list[object] | None = None) -> dict[str, int]:
    counts = {
        "files": 0,
        "bytes": 0,
        "json_files": 0,
        "json_items": 0,
        "yaml_files": 0,
        "yaml_docs": 0,
        "text_files": 0,
    }
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                data = fh.read()
            counts["files"] += 1
            counts["bytes"] += len(data)
            if name.endswith(".json"):
                obj = json.loads(data)
                if keep is not None:
                    keep.append(obj)
                counts["json_files"] += 1
                if isinstance(obj, dict) and isinstance(obj.get("items"), list):
                    counts["json_items"] += len(obj["items"])
            elif name.endswith((".yaml", ".yml")):
                counts["yaml_files"] += 1
                docs = list(yaml.load_all(data, Loader=Loader))
                counts["yaml_docs"] += len(docs)
                if keep is not None:
                    keep.append(docs)
            else:
                text = data.decode("utf-8", errors="replace")
                if keep is not None:
                    keep.append(text)
                counts["text_files"] += 1
    return counts


def main(argv: list[str]) -> int:
    args = argv[1:]
    keep: list[object] | None = None
    if args[:1] == ["--keep"]:
        keep = []
        args = args[1:]
    if len(args) != 1 or not os.path.isdir(args[0]):
        print("usage: floor_read.py [--keep] BUNDLE_DIR", file=sys.stderr)
        return 2
    counts = read_bundle(args[0], keep)
    if keep is not None:
        counts["kept"] = len(keep)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
