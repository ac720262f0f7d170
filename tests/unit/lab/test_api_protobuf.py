"""Kubernetes protobuf request bodies: kubectl's own bytes, a small encoder, the lab API hook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from appliance_lab import api_protobuf as pb
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

# Bodies sent by kubectl v1.33.9 (`kubectl create ...`), recorded from the lab API.
# kubectl create configmap left -n alga --from-literal=x=1 --from-literal=y=two
KUBECTL_CONFIGMAP = bytes.fromhex(
    "6b3873000a0f0a0276311209436f6e6669674d6170122c0a180a046c65667412001a04616c676122002a0032"
    "003800420012060a017812013112080a0179120374776f1a002200"
)
# kubectl create secret generic s1 -n alga --from-literal=password=hunter2 --type=example.com/x
KUBECTL_SECRET = bytes.fromhex(
    "6b3873000a0c0a0276311206536563726574123c0a160a02733112001a04616c676122002a00320038004200"
    "12130a0870617373776f7264120768756e746572321a0d6578616d706c652e636f6d2f781a002200"
)
# kubectl create namespace newns
KUBECTL_NAMESPACE = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d657370616365121d0a150a056e65776e7312001a0022002a00320038004200"
    "12001a020a001a002200"
)
# kubectl create serviceaccount sa1 -n alga
KUBECTL_SERVICE_ACCOUNT = bytes.fromhex(
    "6b3873000a140a027631120e536572766963654163636f756e7412190a170a0373613112001a04616c676122002a"
    "003200380042001a002200"
)


# -- a minimal encoder following the same field numbers ------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _map(number: int, items: dict[str, str] | dict[str, bytes]) -> bytes:
    return b"".join(_len(number, _len(1, k) + _len(2, v)) for k, v in items.items())


def _envelope(api_version: str, kind: str, raw: bytes, **extra: str) -> bytes:
    body = _len(1, _len(1, api_version) + _len(2, kind)) + _len(2, raw)
    body += _len(3, extra.get("encoding", "")) + _len(4, extra.get("content_type", ""))
    return pb.MAGIC + body


def _meta(**kw: object) -> bytes:
    out = _len(1, str(kw.get("name", ""))) + _len(2, "") + _len(3, str(kw.get("namespace", "")))
    out += _map(11, kw.get("labels", {}))  # type: ignore[arg-type]
    out += _map(12, kw.get("annotations", {}))  # type: ignore[arg-type]
    for f in kw.get("finalizers", []):  # type: ignore[attr-defined]
        out += _len(14, f)
    return out


# -- kubectl's bodies ----------------------------------------------------------------------------


def test_kubectl_configmap() -> None:
    assert pb.decode_object(KUBECTL_CONFIGMAP) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "left", "namespace": "alga"},
        "data": {"x": "1", "y": "two"},
    }


def test_kubectl_secret_data_is_base64() -> None:
    assert pb.decode_object(KUBECTL_SECRET) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s1", "namespace": "alga"},
        "data": {"password": "aHVudGVyMg=="},
        "type": "example.com/x",
    }


def test_kubectl_namespace_and_service_account() -> None:
    assert pb.decode_object(KUBECTL_NAMESPACE) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "newns"},
        "spec": {},
    }
    assert pb.decode_object(KUBECTL_SERVICE_ACCOUNT) == {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": "sa1", "namespace": "alga"},
    }


# -- encoded here ----------------------------------------------------------------------------------


def test_object_meta_maps_and_finalizers() -> None:
    meta = _meta(
        name="web",
        namespace="alga",
        labels={"app": "web", "tier": ""},
        annotations={"note": "ünïcode"},
        finalizers=["a/b", "c/d"],
    )
    obj = pb.decode_object(_envelope("v1", "ConfigMap", _len(1, meta)))
    assert obj["metadata"] == {
        "name": "web",
        "namespace": "alga",
        "labels": {"app": "web", "tier": ""},
        "annotations": {"note": "ünïcode"},
        "finalizers": ["a/b", "c/d"],
    }


def test_configmap_binary_data_and_immutable() -> None:
    raw = _len(1, _meta(name="bin")) + _map(2, {"t": "text"}) + _map(3, {"b": b"\x00\xff\x80\n"}) + _int(4, 1)
    obj = pb.decode_object(_envelope("v1", "ConfigMap", raw))
    assert obj["data"] == {"t": "text"}
    assert obj["binaryData"] == {"b": "AP+ACg=="}
    assert obj["immutable"] is True


def test_secret_string_data_type_and_immutable_false() -> None:
    raw = _len(1, _meta(name="s")) + _map(2, {"k": b"\x01\x02"}) + _len(3, "") + _map(4, {"plain": "v"})
    raw += _int(5, 0)
    obj = pb.decode_object(_envelope("v1", "Secret", raw))
    assert obj == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s"},
        "data": {"k": "AQI="},
        "stringData": {"plain": "v"},
        "immutable": False,
    }


def test_namespace_spec_finalizers() -> None:
    raw = _len(1, _meta(name="n")) + _len(2, _len(1, "kubernetes") + _len(1, "example.com/x"))
    raw += _len(3, _len(1, "Terminating"))
    obj = pb.decode_object(_envelope("v1", "Namespace", raw))
    assert obj["spec"] == {"finalizers": ["kubernetes", "example.com/x"]}
    assert "status" not in obj


def test_service_account_references() -> None:
    secret_ref = _len(1, "Secret") + _len(3, "tok") + _len(2, "")
    raw = _len(1, _meta(name="sa")) + _len(2, secret_ref) + _len(3, _len(1, "pull")) + _int(4, 0)
    obj = pb.decode_object(_envelope("v1", "ServiceAccount", raw))
    assert obj["secrets"] == [{"kind": "Secret", "name": "tok"}]
    assert obj["imagePullSecrets"] == [{"name": "pull"}]
    assert obj["automountServiceAccountToken"] is False


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    fixed64 = _varint(20 << 3 | 1) + b"\x01" * 8
    fixed32 = _varint(21 << 3 | 5) + b"\x02" * 4
    varint = _int(7, 300) + _int(22, 2**63)
    nested = _len(8, _int(1, 1700000000)) + _len(17, _len(1, "kubectl") + _len(2, "Update"))
    meta = _meta(name="x") + fixed64 + fixed32 + varint + nested
    raw = _len(1, meta) + fixed64 + fixed32 + _len(99, b"\xff\xfe") + _map(2, {"a": "1"})
    obj = pb.decode_object(_envelope("v1", "ConfigMap", raw))
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}, "data": {"a": "1"}}


# -- errors ----------------------------------------------------------------------------------------


def test_unsupported_kind_has_the_real_415_wording() -> None:
    with pytest.raises(pb.UnsupportedKind) as err:
        pb.decode_object(_envelope("apps/v1", "Deployment", b""))
    assert str(err.value) == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )
    assert (err.value.api_version, err.value.kind) == ("apps/v1", "Deployment")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "ConfigMap"}', "does not appear to be a protobuf message"),
        (KUBECTL_CONFIGMAP[:-9], "unexpected EOF"),
        (pb.MAGIC + b"\x0a\x80", "unexpected EOF in a varint"),
        (pb.MAGIC + _varint(1 << 3 | 3), "unsupported wire type 3"),
        (pb.MAGIC + b"\x00", "illegal field number 0"),
        (pb.MAGIC + _len(2, b""), "Object 'Kind' is missing"),
        (_envelope("v1", "ConfigMap", b"", encoding="gzip"), "unsupported content encoding"),
        (_envelope("v1", "ConfigMap", b"", content_type="application/json"), "unsupported embedded"),
        (_envelope("v1", "ConfigMap", _int(1, 5)), "field 1: wire type 0"),
        (_envelope("v1", "ConfigMap", _len(4, b"")), "field 4: wire type 2"),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(pb.ProtobufError, match=message) as err:
        pb.decode_object(body)
    assert not isinstance(err.value, pb.UnsupportedKind)


# -- the lab API accepts protobuf, YAML and JSON bodies -------------------------------------------

TOKEN = "lab-test-token-0123456789abcdef"


@pytest.fixture
def lab() -> Iterator[tuple[Store, httpx.Client, str]]:
    store = Store()
    store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": "alga"}, "status": {"phase": "Active"}})
    server = LabApiServer(store, token=TOKEN)
    server.start()
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(verify=server.client_ssl_context() or True, timeout=10, headers=headers) as c:
            yield store, c, server.url
    finally:
        server.stop()


def test_lab_api_creates_from_kubectl_protobuf(lab: tuple[Store, httpx.Client, str]) -> None:
    store, http, url = lab
    headers = {
        "Content-Type": pb.MEDIA_TYPE,
        "Accept": "application/vnd.kubernetes.protobuf,application/json",
    }
    query = "?fieldManager=kubectl-create&fieldValidation=Strict"  # what kubectl sends
    r = http.post(f"{url}/api/v1/namespaces/alga/secrets{query}", content=KUBECTL_SECRET, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["data"] == {"password": "aHVudGVyMg=="}
    secret = store.get(BY_KEY["v1/secrets"], "alga", "s1")
    assert secret["type"] == "example.com/x"
    assert secret["metadata"]["managedFields"][0]["manager"] == "kubectl-create"
    r = http.post(f"{url}/api/v1/namespaces", content=KUBECTL_NAMESPACE, headers=headers)
    assert r.status_code == 201, r.text
    assert store.get(BY_KEY["v1/namespaces"], None, "newns")["status"] == {"phase": "Active"}


def test_lab_api_answers_415_for_an_unsupported_protobuf_kind(lab: tuple[Store, httpx.Client, str]) -> None:
    _, http, url = lab
    body = _envelope("v1", "Pod", _len(1, _meta(name="p")))
    r = http.post(f"{url}/api/v1/namespaces/alga/pods", content=body, headers={"Content-Type": pb.MEDIA_TYPE})
    assert r.status_code == 415
    status = r.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "UnsupportedMediaType", 415)
    assert status["message"] == pb.UNKNOWN_FORMAT


def test_lab_api_malformed_protobuf_is_400(lab: tuple[Store, httpx.Client, str]) -> None:
    _, http, url = lab
    r = http.post(
        f"{url}/api/v1/namespaces/alga/configmaps",
        content=KUBECTL_CONFIGMAP[:-9],
        headers={"Content-Type": pb.MEDIA_TYPE},
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith("error decoding body: unexpected EOF")


def test_lab_api_yaml_and_json_bodies(lab: tuple[Store, httpx.Client, str]) -> None:
    store, http, url = lab
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {a: '1'}\n"
    r = http.post(
        f"{url}/api/v1/namespaces/alga/configmaps",
        content=yaml_body,
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    json_body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}})
    r = http.post(
        f"{url}/api/v1/namespaces/alga/configmaps",
        content=json_body,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert store.get(BY_KEY["v1/configmaps"], "alga", "y")["data"] == {"a": "1"}
    assert store.try_get(BY_KEY["v1/configmaps"], "alga", "j") is not None
