from podmortem.index.selectors import describe_selector, selector_matches


def test_missing_selector_matches_everything() -> None:
    assert selector_matches(None, {})
    assert selector_matches({}, {"a": "b"})
    assert not selector_matches({}, {"a": "b"}, empty_matches=False)


def test_match_labels_and_expressions() -> None:
    sel = {
        "matchLabels": {"app": "agent"},
        "matchExpressions": [
            {"key": "dynakube.internal.dynatrace.com/instance", "operator": "Exists"},
            {"key": "admission.datadoghq.com/enabled", "operator": "NotIn", "values": ["false"]},
            {"key": "tier", "operator": "In", "values": ["ci", "build"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    ok = {"app": "agent", "dynakube.internal.dynatrace.com/instance": "dk", "tier": "ci"}
    assert selector_matches(sel, ok)
    assert not selector_matches(sel, {**ok, "admission.datadoghq.com/enabled": "false"})
    assert not selector_matches(sel, {**ok, "legacy": "1"})
    assert not selector_matches(sel, {**ok, "tier": "web"})
    assert not selector_matches(sel, {k: v for k, v in ok.items() if k != "dynakube.internal.dynatrace.com/instance"})


def test_unknown_operator_never_matches() -> None:
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {"a": "2"})


def test_describe() -> None:
    sel = {
        "matchExpressions": [
            {"key": "x", "operator": "NotIn", "values": ["a", "b"]},
            {"key": "y", "operator": "Exists"},
        ]
    }
    assert describe_selector(sel) == "x notin (a,b),y"
    assert describe_selector(None) == "(everything)"
