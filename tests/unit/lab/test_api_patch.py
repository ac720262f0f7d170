"""Patch semantics: JSON merge, strategic merge, JSON patch and server-side apply ownership."""

from __future__ import annotations

import json
from typing import Any

import pytest
from appliance_lab import api_patch
from appliance_lab.api_patch import ApplyConflict, PatchError


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}, {"a": 1, "b": {"d": 3}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"a": 1}, {"a": None}, {}),
        ({}, {"a": {"b": None}}, {"a": {}}),
    ],
)
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    assert api_patch.merge_patch(target, patch) == expected


POD_SPEC = {
    "containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "b:1"},
    ],
    "volumes": [{"name": "v1", "emptyDir": {}}],
}


@pytest.mark.parametrize(
    ("patch", "check"),
    [
        (
            {"containers": [{"name": "a", "image": "a:2"}]},
            lambda r: [c["image"] for c in r["containers"]] == ["a:2", "b:1"] and r["containers"][0]["env"],
        ),
        (
            {"containers": [{"name": "c", "image": "c:1"}]},
            lambda r: [c["name"] for c in r["containers"]] == ["a", "b", "c"],
        ),
        (
            {"containers": [{"name": "b", "$patch": "delete"}]},
            lambda r: [c["name"] for c in r["containers"]] == ["a"],
        ),
        (
            {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]},
            lambda r: [e["name"] for e in r["containers"][0]["env"]] == ["X", "Y"],
        ),
        (
            {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]},
            lambda r: r["containers"][0]["ports"] == [{"containerPort": 80, "name": "http"}],
        ),
        (
            {"volumes": [{"$patch": "replace"}, {"name": "only"}]},
            lambda r: r["volumes"] == [{"name": "only"}],
        ),
        (
            {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                "containers": [{"name": "a", "image": "a:3"}],
            },
            lambda r: (
                [c["name"] for c in r["containers"]] == ["b", "a"] and "$setElementOrder/containers" not in r
            ),
        ),
        ({"volumes": None}, lambda r: "volumes" not in r),
    ],
)
def test_strategic_merge(patch: dict[str, Any], check: Any) -> None:
    assert check(api_patch.strategic_merge(POD_SPEC, patch))


def test_strategic_merge_service_ports_by_port() -> None:
    svc = {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
    out = api_patch.strategic_merge(svc, {"ports": [{"port": 443, "targetPort": 8443}]})
    assert out["ports"][1] == {"port": 443, "name": "https", "targetPort": 8443}


def test_finalizers_merge_as_a_set() -> None:
    out = api_patch.strategic_merge({"finalizers": ["a"]}, {"finalizers": ["a", "b"]})
    assert out == {"finalizers": ["a", "b"]}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "add", "path": "/a/-", "value": 3}], {"a": [1, 2, 3], "b": {"c": "x"}}),
        ([{"op": "add", "path": "/a/0", "value": 0}], {"a": [0, 1, 2], "b": {"c": "x"}}),
        ([{"op": "remove", "path": "/a/1"}], {"a": [1], "b": {"c": "x"}}),
        ([{"op": "replace", "path": "/b/c", "value": "y"}], {"a": [1, 2], "b": {"c": "y"}}),
        ([{"op": "move", "from": "/b/c", "path": "/d"}], {"a": [1, 2], "b": {}, "d": "x"}),
        ([{"op": "copy", "from": "/b", "path": "/e"}], {"a": [1, 2], "b": {"c": "x"}, "e": {"c": "x"}}),
        (
            [{"op": "test", "path": "/b/c", "value": "x"}, {"op": "add", "path": "/b/a~1b", "value": 1}],
            {"a": [1, 2], "b": {"c": "x", "a/b": 1}},
        ),
    ],
)
def test_json_patch(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    doc = {"a": [1, 2], "b": {"c": "x"}}
    assert api_patch.json_patch(doc, ops) == expected
    assert doc == {"a": [1, 2], "b": {"c": "x"}}


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/a/9"}],
        [{"op": "test", "path": "/b/c", "value": "nope"}],
        [{"op": "add", "path": "/x/y", "value": 1}],
    ],
)
def test_json_patch_failures_are_invalid(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(PatchError):
        api_patch.json_patch({"a": [1, 2], "b": {"c": "x"}}, ops)


def _cm(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "c", "namespace": "n"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _owners(obj: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


def test_apply_then_update_then_conflict_and_force() -> None:
    obj = api_patch.apply_create(_cm({"a": "1"}, {"app": "x"}), "ssa", "v1")
    assert _owners(obj) == {
        ("ssa", "Apply"): {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
    }
    edited = json.loads(json.dumps(obj))
    edited["data"]["a"] = "2"
    api_patch.record_update(edited, obj, "editor", "Update")
    owners = _owners(edited)
    assert owners[("editor", "Update")] == {"f:data": {"f:a": {}}}
    assert owners[("ssa", "Apply")] == {"f:metadata": {"f:labels": {"f:app": {}}}}
    # ssa applies a different value for a field the editor now owns
    with pytest.raises(ApplyConflict) as exc:
        api_patch.apply(edited, _cm({"a": "3"}, {"app": "x"}), "ssa", False, "v1")
    assert exc.value.message == 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.a'
    forced = api_patch.apply(edited, _cm({"a": "3"}, {"app": "x"}), "ssa", True, "v1")
    assert forced["data"] == {"a": "3"}
    assert ("editor", "Update") not in _owners(forced)


def test_apply_conflict_message_for_several_fields() -> None:
    obj = api_patch.apply_create(_cm({"a": "1", "b": "1"}), "one", "v1")
    with pytest.raises(ApplyConflict) as exc:
        api_patch.apply(obj, _cm({"a": "2", "b": "2"}), "two", False, "v1")
    assert exc.value.message == (
        'Apply failed with 2 conflicts: conflicts with "one" using v1:\n- .data.a\n- .data.b'
    )
    assert [c["field"] for c in exc.value.details["causes"]] == [".data.a", ".data.b"]


def test_apply_removes_only_fields_nobody_else_owns() -> None:
    obj = api_patch.apply_create(_cm({"a": "1", "b": "1", "c": "1"}), "one", "v1")
    shared = api_patch.apply(obj, _cm({"b": "1"}), "two", False, "v1")  # co-owns b
    out = api_patch.apply(shared, _cm({"a": "1"}), "one", False, "v1")
    assert out["data"] == {"a": "1", "b": "1"}


def test_apply_keyed_lists_use_merge_keys_in_paths() -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}},
    }
    obj = api_patch.apply_create(dep, "one", "apps/v1")
    fields = _owners(obj)[("one", "Apply")]
    item = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert item == {".": {}, "f:image": {}, "f:name": {}}
    dep2 = json.loads(json.dumps(dep))
    dep2["spec"]["template"]["spec"]["containers"][0]["image"] = "a:2"
    with pytest.raises(ApplyConflict) as exc:
        api_patch.apply(obj, dep2, "two", False, "apps/v1")
    assert exc.value.message.endswith('.spec.template.spec.containers[name="app"].image')


def test_first_apply_to_an_unmanaged_object_conflicts_with_before_first_apply() -> None:
    unmanaged = _cm({"a": "1", "b": "1"})
    with pytest.raises(ApplyConflict) as exc:
        api_patch.apply(unmanaged, _cm({"a": "2"}), "appliance", False, "v1")
    assert (
        exc.value.message
        == 'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a'
    )
    same = api_patch.apply(unmanaged, _cm({"a": "1"}), "appliance", False, "v1")
    assert set(_owners(same)) == {("before-first-apply", "Update"), ("appliance", "Apply")}
    forced = api_patch.apply(unmanaged, _cm({"a": "2"}), "appliance", True, "v1")
    assert forced["data"] == {"a": "2", "b": "1"}


def _dep(containers: list[str], env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": c, "image": f"{c}:1", **({"env": env} if env else {})} for c in containers
                    ]
                }
            }
        },
    }


def test_apply_drops_list_elements_and_leaves_no_empty_lists() -> None:
    obj = api_patch.apply_create(_dep(["a", "b"], [{"name": "X", "value": "1"}]), "m", "apps/v1")
    out = api_patch.apply(obj, _dep(["a"]), "m", False, "apps/v1")
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "a:1"}]


def test_apply_keeps_what_another_manager_still_owns() -> None:
    obj = api_patch.apply_create(_dep(["a", "b"], [{"name": "X", "value": "1"}]), "m", "apps/v1")
    shared = api_patch.apply(obj, _dep(["a"], [{"name": "Y", "value": "2"}]), "other", False, "apps/v1")
    out = api_patch.apply(shared, _dep(["b"]), "m", False, "apps/v1")
    assert out["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "a:1", "env": [{"name": "Y", "value": "2"}]},
        {"name": "b", "image": "b:1"},
    ]
