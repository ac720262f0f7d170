"""Kubernetes protobuf request bodies, decoded into the JSON objects the lab's store keeps.

``kubectl create configmap|secret|namespace|serviceaccount`` (client-go's typed clients)
send ``Content-Type: application/vnd.kubernetes.protobuf``: the magic ``k8s\\x00``, then a
``runtime.Unknown`` envelope (1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
4 contentType) whose ``raw`` is the object itself, encoded per ``k8s.io/api/core/v1`` and
``k8s.io/apimachinery/pkg/apis/meta/v1`` ``generated.proto``. A real API server accepts that,
so the lab does too, for the kinds those commands send. This is a minimal proto2 wire-format
reader (varints, length-delimited fields, fixed32/fixed64 skipped; maps are repeated
key/value entries); fields the lab does not keep are skipped by wire type.

Pure functions, no I/O: ``decode_object(body) -> dict`` or ``ProtobufError``
(``UnsupportedKind`` for a well-formed envelope around a kind the lab cannot decode).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
UNKNOWN_FORMAT = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json, application/yaml, application/vnd.kubernetes.protobuf"
)

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5

Obj = dict[str, Any]
Field = tuple[int, int, "int | bytes"]


class ProtobufError(ValueError):
    """The body is not a protobuf message the lab can read (answered as 400)."""


class UnsupportedKind(ProtobufError):
    """A well-formed envelope around a kind the lab does not decode (answered as 415)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(UNKNOWN_FORMAT)
        self.api_version = api_version
        self.kind = kind


# -- wire format -------------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("unexpected EOF in a varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise ProtobufError("varint overflows 64 bits")


def fields(buf: bytes) -> Iterator[Field]:
    """``(field number, wire type, value)`` for each field of one message, in order."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("illegal field number 0")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ProtobufError(f"unexpected EOF in field {number}")
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            if pos + size > end:
                raise ProtobufError(f"unexpected EOF in field {number}")
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire} for field {number}")
        yield number, wire, value


def _bytes(number: int, wire: int, value: int | bytes) -> bytes:
    if wire != _LEN or not isinstance(value, bytes):
        raise ProtobufError(f"field {number}: wire type {wire}, expected length-delimited")
    return value


def _str(number: int, wire: int, value: int | bytes) -> str:
    return _bytes(number, wire, value).decode("utf-8", errors="replace")


def _bool(number: int, wire: int, value: int | bytes) -> bool:
    if wire != _VARINT or not isinstance(value, int):
        raise ProtobufError(f"field {number}: wire type {wire}, expected varint")
    return value != 0


def _entry(buf: bytes) -> tuple[str, bytes]:
    """One map entry: 1 key (string), 2 value (string or bytes, kept raw)."""
    key, value = "", b""
    for number, wire, v in fields(buf):
        if number == 1:
            key = _str(number, wire, v)
        elif number == 2:
            value = _bytes(number, wire, v)
    return key, value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- objects -------------------------------------------------------------------------------------


def object_meta(buf: bytes) -> Obj:
    """meta/v1 ObjectMeta: the fields a client sets on create or replace; the rest is skipped."""
    meta: Obj = {}
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    maps = {11: "labels", 12: "annotations"}
    for number, wire, value in fields(buf):
        if number in strings:
            text = _str(number, wire, value)
            if text:
                meta[strings[number]] = text
        elif number in maps:
            key, raw = _entry(_bytes(number, wire, value))
            meta.setdefault(maps[number], {})[key] = _text(raw)
        elif number == 14:
            meta.setdefault("finalizers", []).append(_str(number, wire, value))
    return meta


def _config_map(buf: bytes, obj: Obj) -> None:
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(_bytes(number, wire, value))
        elif number == 2:
            key, raw = _entry(_bytes(number, wire, value))
            obj.setdefault("data", {})[key] = _text(raw)
        elif number == 3:
            key, raw = _entry(_bytes(number, wire, value))
            obj.setdefault("binaryData", {})[key] = _b64(raw)
        elif number == 4:
            obj["immutable"] = _bool(number, wire, value)


def _secret(buf: bytes, obj: Obj) -> None:
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(_bytes(number, wire, value))
        elif number == 2:
            key, raw = _entry(_bytes(number, wire, value))
            obj.setdefault("data", {})[key] = _b64(raw)
        elif number == 3:
            secret_type = _str(number, wire, value)
            if secret_type:
                obj["type"] = secret_type
        elif number == 4:
            key, raw = _entry(_bytes(number, wire, value))
            obj.setdefault("stringData", {})[key] = _text(raw)
        elif number == 5:
            obj["immutable"] = _bool(number, wire, value)


def _namespace(buf: bytes, obj: Obj) -> None:
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(_bytes(number, wire, value))
        elif number == 2:
            spec: Obj = obj.setdefault("spec", {})
            for n, w, v in fields(_bytes(number, wire, value)):
                if n == 1:
                    spec.setdefault("finalizers", []).append(_str(n, w, v))
        # 3 status: the server sets it on create


_OBJECT_REFERENCE = {
    1: "kind",
    2: "namespace",
    3: "name",
    4: "uid",
    5: "apiVersion",
    6: "resourceVersion",
    7: "fieldPath",
}
_LOCAL_OBJECT_REFERENCE = {1: "name"}


def _strings(buf: bytes, names: dict[int, str]) -> Obj:
    """A message of string fields only, empty ones left out (like ``omitempty``)."""
    out: Obj = {}
    for number, wire, value in fields(buf):
        if number in names:
            text = _str(number, wire, value)
            if text:
                out[names[number]] = text
    return out


def _service_account(buf: bytes, obj: Obj) -> None:
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(_bytes(number, wire, value))
        elif number == 2:
            ref = _strings(_bytes(number, wire, value), _OBJECT_REFERENCE)
            obj.setdefault("secrets", []).append(ref)
        elif number == 3:
            ref = _strings(_bytes(number, wire, value), _LOCAL_OBJECT_REFERENCE)
            obj.setdefault("imagePullSecrets", []).append(ref)
        elif number == 4:
            obj["automountServiceAccountToken"] = _bool(number, wire, value)


_DECODERS: dict[tuple[str, str], Callable[[bytes, Obj], None]] = {
    ("v1", "ConfigMap"): _config_map,
    ("v1", "Secret"): _secret,
    ("v1", "Namespace"): _namespace,
    ("v1", "ServiceAccount"): _service_account,
}

SUPPORTED_KINDS = tuple(sorted(kind for _, kind in _DECODERS))


def decode_object(body: bytes) -> Obj:
    """The JSON-shaped object in a protobuf request body (magic, ``runtime.Unknown``, object)."""
    if not body.startswith(MAGIC):
        raise ProtobufError(
            f"provided data does not appear to be a protobuf message, expected prefix {list(MAGIC)}"
        )
    api_version = kind = encoding = content_type = ""
    raw = b""
    for number, wire, value in fields(body[len(MAGIC) :]):
        if number == 1:
            for n, w, v in fields(_bytes(number, wire, value)):
                if n == 1:
                    api_version = _str(n, w, v)
                elif n == 2:
                    kind = _str(n, w, v)
        elif number == 2:
            raw = _bytes(number, wire, value)
        elif number == 3:
            encoding = _str(number, wire, value)
        elif number == 4:
            content_type = _str(number, wire, value)
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    if content_type and content_type != MEDIA_TYPE:
        raise ProtobufError(f"unsupported embedded content type {content_type!r}")
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in request body")
    decoder = _DECODERS.get((api_version, kind))
    if decoder is None:
        raise UnsupportedKind(api_version, kind)
    obj: Obj = {"kind": kind, "apiVersion": api_version, "metadata": {}}
    decoder(raw, obj)
    return obj
