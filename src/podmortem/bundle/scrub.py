"""Redaction of everything a bundle holds, with counts of what was masked where.

Built on :mod:`podmortem.model.redact`. What this adds for bundles:

- Secret objects are dropped whole (never written); the values of their sensitive keys are remembered;
- the masks :func:`redact_object` puts into an object are counted by the place they are in (env, annotations,
  args, events, other) by comparing the object before and after;
- every value masked in any object (a PAT set as a literal env value, a password in a ConfigMap, a token
  after ``--token``) is remembered and masked again wherever it is repeated: in logs, event messages, audit
  events and every other object (:func:`redact_literals`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from podmortem.model.objects import RawObject, as_dict, as_str, kind
from podmortem.model.redact import (
    MASK,
    is_sensitive_name,
    redact_literals,
    redact_object,
    redact_text,
    sensitive_literals,
)

#: The places masked values are counted by, in the manifest.
PLACES = ("env", "annotations", "args", "logs", "events", "audit", "other")

_MASK = re.compile(r"<redacted(?::[A-Za-z0-9_.\-]{1,40})?>")
_ENV_KEYS = frozenset({"env", "envFrom", "httpHeaders"})
_ARG_KEYS = frozenset({"command", "args"})
# Fields that identify an object; known secrets are not searched for in them (a value such as "password"
# must not turn the env name DB_PASSWORD into DB_<redacted>).
_IDENTITY_KEYS = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "kind",
        "apiVersion",
        "generateName",
        "resourceVersion",
        "creationTimestamp",
        "image",
        "imageID",
        "containerID",
        "key",
        "fieldPath",
        "mountPath",
        "path",
    }
)
# A masked value shaped like a lower-case path ("secret/data/payments/db", the Vault path a sensitive-looking
# annotation names) is not searched for elsewhere: it is where a secret is, and logs need it as evidence.
_PATH_LIKE = re.compile(r"[a-z0-9_.:\-]*(?:/[a-z0-9_.:\-]*)+")
# Nor is a timestamp (a sensitive-looking status field such as a DynaKube's lastTokenScopeRequest holds one).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_MAX_LEARN = 1 << 20  # longer strings are not searched for the values masked in them


def is_secret(obj: RawObject) -> bool:
    """A core Secret (never written to a bundle)."""
    return kind(obj) == "Secret" and as_str(obj.get("apiVersion", "v1")) in ("v1", "")


def masks_in(value: Any) -> int:
    """How many masks a JSON-like value holds."""
    if isinstance(value, str):
        return len(_MASK.findall(value)) if "<redacted" in value else 0
    if isinstance(value, dict):
        return sum(masks_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(masks_in(v) for v in value)
    return 0


def _place(current: str, key: str) -> str:
    if current in ("events", "audit", "annotations", "env", "args"):
        return current
    if key == "annotations":
        return "annotations"
    if key in _ENV_KEYS:
        return "env"
    if key in _ARG_KEYS:
        return "args"
    return current


class Scrubber:
    """Redacts the objects, logs and texts of one bundle; holds the counts and the known secret values.

    Call :meth:`object` for every object first, then :meth:`finish_objects`, then :meth:`log` /
    :meth:`text`: the values masked in objects are masked in logs too.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.counts: Counter[str] = Counter({p: 0 for p in PLACES})
        self.literals: set[str] = set()
        self.secrets_dropped = 0

    # -- objects ------------------------------------------------------------------------------------------

    def object(self, obj: RawObject, *, place: str = "") -> RawObject | None:
        """The object to write (a masked copy when enabled), or None for a Secret, which is never written."""
        if is_secret(obj):
            self.secrets_dropped += 1
            self._learn_secret(obj)
            return None
        if not self.enabled:
            return obj
        self.literals |= sensitive_literals(obj)  # literal values of sensitive env names, whatever they look like
        masked, _ = redact_object(obj)
        _mask_bare_keys(masked)
        base = place or ("events" if kind(obj) == "Event" else "other")
        self._compare(obj, masked, base)
        return masked

    def finish_objects(self, objects: Iterable[RawObject], *, place: str = "") -> None:
        """Mask the secret values learnt from all objects wherever another object repeats them (in place)."""
        if not self.enabled or not self.literals:
            return
        for obj in objects:
            base = place or ("events" if kind(obj) == "Event" else "other")
            self._mask_known(obj, base)

    # -- text ---------------------------------------------------------------------------------------------

    def log(self, text: str) -> str:
        """A container log with secrets masked (counted under ``logs``)."""
        return self.text(text, place="logs")

    def text(self, text: str, *, place: str = "other") -> str:
        """Any text with secrets masked: token shapes, sensitive key/value pairs and known secret values."""
        if not self.enabled or not text:
            return text
        masked, n = redact_text(text)
        literals = self.literals
        if literals:
            masked, m = redact_literals(masked, literals)
            n += m
        self.counts[place] += n
        return masked

    # -- report -------------------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """How many values were masked in all."""
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        """The manifest's ``redaction`` object."""
        return {
            "enabled": self.enabled,
            "total": self.total,
            "by_place": {p: self.counts[p] for p in PLACES},
            "secrets_dropped": self.secrets_dropped,
        }

    # -- internals ----------------------------------------------------------------------------------------

    def _learn(self, value: str, *, declared: bool = False) -> None:
        """Remember a secret value; one only masked by a guess (``declared`` False) must look like a credential."""
        value = value.strip()
        if declared:
            if len(value) >= 6:
                self.literals.add(value)
            return
        if (
            _credential_like(value)
            and not _MASK.search(value)
            and not _PATH_LIKE.fullmatch(value)
            and not _TIMESTAMP.fullmatch(value)
        ):
            self.literals.add(value)

    def _learn_secret(self, obj: RawObject) -> None:
        """Remember the values of a Secret's sensitive keys (``data`` is base64, ``stringData`` is plain)."""
        for key, value in as_dict(obj.get("data")).items():
            if not isinstance(key, str) or not isinstance(value, str) or not is_sensitive_name(key):
                continue
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            self._learn(decoded, declared=True)
        for key, value in as_dict(obj.get("stringData")).items():
            if isinstance(key, str) and isinstance(value, str) and is_sensitive_name(key):
                self._learn(value, declared=True)

    def _compare(self, before: Any, after: Any, place: str) -> None:
        """Count the masks ``after`` gained over ``before``, by place, and learn the values they replaced."""
        if isinstance(after, str):
            if before == after:
                return
            gained = masks_in(after) - masks_in(before)
            if gained > 0:
                self.counts[place] += gained
            if isinstance(before, str):
                self._learn_masked(before, after)
            return
        if isinstance(after, dict) and isinstance(before, dict):
            for key, value in after.items():
                self._compare(before.get(key), value, _place(place, key) if isinstance(key, str) else place)
            return
        if isinstance(after, list) and isinstance(before, list) and len(after) == len(before):
            for b, a in zip(before, after, strict=True):
                self._compare(b, a, place)
            return
        gained = masks_in(after) - masks_in(before)
        if gained > 0:
            self.counts[place] += gained

    def _learn_masked(self, before: str, after: str) -> None:
        """Learn the substrings of ``before`` that the masks in ``after`` replaced."""
        if len(before) > _MAX_LEARN:
            return
        pieces = _MASK.split(after)
        if len(pieces) < 2:
            return
        found = _aligned(before, pieces)
        if found is None:
            found = _json_masked(before, after)
        for value in found or ():
            self._learn(value)

    def _mask_known(self, value: Any, place: str, key: str = "") -> Any:
        """Mask known secret values in the strings of a JSON-like value, in place; returns the new value."""
        if isinstance(value, str):
            if key in _IDENTITY_KEYS:
                return value
            masked, n = redact_literals(value, self.literals)
            self.counts[place] += n
            return masked
        if isinstance(value, dict):
            for k in list(value):
                sub = _place(place, k) if isinstance(k, str) else place
                value[k] = self._mask_known(value[k], sub, k if isinstance(k, str) else "")
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = self._mask_known(item, place, key)
            return value
        return value


# A mapping with a "key" beside one of these is a reference, selector, toleration or item list, not a credential.
_REFERENCE_SIBLINGS = frozenset(
    {"operator", "values", "effect", "tolerationSeconds", "path", "name", "optional", "value", "mode", "fieldPath"}
)


def _mask_bare_keys(value: Any) -> None:
    """Mask, in place, credentials held under a bare ``key`` (an InstanaAgent's ``spec.agent.key``).

    :func:`redact_object` does not treat ``key`` alone as sensitive, since selectors, tolerations and
    ``secretKeyRef`` all have one; here a ``key`` is masked when nothing beside it makes it one of those and its
    value looks like a credential (12 or more characters mixing letters and digits or cases, no ``/``).
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            key = item.get("key")
            if isinstance(key, str) and not (item.keys() & _REFERENCE_SIBLINGS) and _bare_key_secret(key):
                item["key"] = MASK
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def _bare_key_secret(value: str) -> bool:
    if len(value) < 12 or "/" in value or any(c.isspace() for c in value) or _MASK.search(value):
        return False
    classes = any(c.islower() for c in value) + any(c.isupper() for c in value) + any(c.isdigit() for c in value)
    return classes >= 2


def _credential_like(value: str) -> bool:
    """At least 6 characters from at least two classes (lower, upper, digit, other).

    Only such values are searched for elsewhere: a masked one-word value ("dynakube", the name of the Secret
    a DynaKube's ``tokens`` field names) would otherwise be masked in every log line and name it appears in.
    """
    if len(value) < 6:
        return False
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
    return classes >= 2


def _aligned(before: str, pieces: list[str]) -> list[str] | None:
    """Given ``after`` split on its masks, the parts of ``before`` that stand where the masks are."""
    first, last = pieces[0], pieces[-1]
    if not before.startswith(first) or not before.endswith(last) or len(first) + len(last) > len(before):
        return None
    end = len(before) - len(last)
    pos = len(first)
    out: list[str] = []
    for piece in pieces[1:-1]:
        at = before.find(piece, pos, end) if piece else pos
        if at < 0:
            return None
        out.append(before[pos:at])
        pos = at + len(piece)
    out.append(before[pos:end])
    return out


def _json_masked(before: str, after: str) -> list[str] | None:
    """The masked leaves of a JSON document held in a string (a re-serialised last-applied-configuration)."""
    try:
        b, a = json.loads(before), json.loads(after)
    except ValueError:
        return None
    out: list[str] = []
    stack: list[tuple[Any, Any]] = [(b, a)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, dict) and isinstance(y, dict):
            stack.extend((x.get(k), v) for k, v in y.items())
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, str) and isinstance(y, str) and x != y:
            pieces = _MASK.split(y)
            if len(pieces) > 1:
                out.extend(_aligned(x, pieces) or ())
    return out
