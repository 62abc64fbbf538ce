"""Events in one shape, whether they came as core/v1 Event or events.k8s.io/v1 Event."""

from __future__ import annotations

from dataclasses import dataclass

from podmortem.model.objects import RawObject, as_dict, as_str, namespace


@dataclass(frozen=True)
class Ev:
    """An event about one object."""

    kind: str
    namespace: str
    name: str
    reason: str
    message: str
    type: str
    first: str
    last: str
    count: int
    field_path: str = ""

    @property
    def container(self) -> str:
        """The container an event's fieldPath names (``spec.containers{azp-agent}``), else ""."""
        fp = self.field_path
        if "{" in fp and fp.endswith("}"):
            return fp[fp.index("{") + 1 : -1]
        return ""


def normalise(obj: RawObject) -> Ev | None:
    """One event as :class:`Ev`; None when it names no object."""
    if "regarding" in obj or "note" in obj:  # events.k8s.io/v1
        ref = as_dict(obj.get("regarding"))
        series = as_dict(obj.get("series"))
        count_raw = series.get("count", obj.get("deprecatedCount", 1))
        first = as_str(obj.get("deprecatedFirstTimestamp")) or as_str(obj.get("eventTime"))
        last = as_str(series.get("lastObservedTime")) or as_str(obj.get("deprecatedLastTimestamp")) or first
        message = as_str(obj.get("note"))
    else:
        ref = as_dict(obj.get("involvedObject"))
        count_raw = obj.get("count", 1)
        first = as_str(obj.get("firstTimestamp")) or as_str(obj.get("eventTime"))
        last = as_str(obj.get("lastTimestamp")) or first
        message = as_str(obj.get("message"))
    if not ref:
        return None
    count = count_raw if isinstance(count_raw, int) and count_raw > 0 else 1
    return Ev(
        kind=as_str(ref.get("kind")),
        namespace=as_str(ref.get("namespace")) or namespace(obj),
        name=as_str(ref.get("name")),
        reason=as_str(obj.get("reason")),
        message=message,
        type=as_str(obj.get("type")),
        first=first,
        last=last,
        count=count,
        field_path=as_str(ref.get("fieldPath")),
    )
