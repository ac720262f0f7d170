"""Label and field selector parsing and matching."""

from __future__ import annotations

from typing import Any

import pytest
from appliance_lab.api_selectors import BadRequest, field_matcher, label_matcher


def _obj(labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels or {}}, **extra}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a==1", {"a": "2"}, False),
        ("a!=1", {}, True),
        ("a!=1", {"a": "1"}, False),
        ("a in (1, 2)", {"a": "2"}, True),
        ("a in (1,2)", {}, False),
        ("a notin (1,2)", {}, True),
        ("a notin (1,2)", {"a": "3"}, True),
        ("a notin (1,2)", {"a": "1"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("!a", {"b": "1"}, True),
        (
            "app.kubernetes.io/name=web,tier in (front)",
            {"app.kubernetes.io/name": "web", "tier": "front"},
            True,
        ),
        ("app.kubernetes.io/name=web,tier in (front)", {"app.kubernetes.io/name": "web"}, False),
        ("", {}, True),
    ],
)
def test_label_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    m = label_matcher(selector)
    assert (m is None or m(_obj(labels))) is expected


@pytest.mark.parametrize("selector", ["a=(", "=x", "a in 1"])
def test_bad_label_selector(selector: str) -> None:
    with pytest.raises(BadRequest):
        label_matcher(selector)


@pytest.mark.parametrize(
    ("kind", "selector", "obj", "expected"),
    [
        ("Pod", "status.phase=Running", _obj(status={"phase": "Running"}), True),
        ("Pod", "status.phase!=Running", _obj(status={"phase": "Running"}), False),
        ("Pod", "spec.nodeName=", _obj(spec={}), True),
        ("Pod", "metadata.name=n,metadata.namespace=ns", _obj(), True),
        ("Event", "involvedObject.uid=u1", _obj(involvedObject={"uid": "u1"}), True),
        ("Event", "source=kubelet", _obj(source={"component": "kubelet"}), True),
        ("Node", "spec.unschedulable=false", _obj(spec={"unschedulable": False}), True),
        ("Secret", "type=Opaque", _obj(type="Opaque"), True),
    ],
)
def test_field_selector(kind: str, selector: str, obj: dict[str, Any], expected: bool) -> None:
    m = field_matcher(selector, kind)
    assert m is not None and m(obj) is expected


@pytest.mark.parametrize(
    ("kind", "selector"), [("ConfigMap", "data.x=1"), ("Pod", "status.podIPs=1"), ("Pod", "nonsense")]
)
def test_unsupported_field_selector(kind: str, selector: str) -> None:
    with pytest.raises(BadRequest):
        field_matcher(selector, kind)
