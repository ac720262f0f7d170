"""Patch semantics of the lab's Kubernetes API.

- JSON merge patch (RFC 7386), ``application/merge-patch+json``;
- strategic merge patch, ``application/strategic-merge-patch+json``, for the built-in kinds:
  lists with a merge key (containers, env, volumes, ports, …) merge by key, the ``$patch``,
  ``$setElementOrder``, ``$retainKeys`` and ``$deleteFromPrimitiveList`` directives kubectl
  sends are honoured; custom resources (Flux) refuse it with 415 like the real server;
- JSON patch (RFC 6902), ``application/json-patch+json``;
- server-side apply, ``application/apply-patch+yaml``: a merge of the applied configuration
  with field ownership tracked per manager in ``metadata.managedFields`` (``FieldsV1``).
  Changing a field another manager owns, to a different value, without ``force`` is a 409
  Conflict with the real wording; fields a manager applied before and no longer applies are
  removed when nobody else owns them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import yaml

from appliance_cli import yamltext
from appliance_lab.store import Obj, StoreError, now_rfc3339

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES: tuple[str, ...] = (JSON_PATCH, MERGE, STRATEGIC)

# Merge keys of the built-in kinds' lists (field name -> key); ``ports`` depends on the parent.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "volumeClaimTemplates": "name",
    "resourceClaims": "name",
}
# Primitive lists merged as sets.
_SET_LISTS = frozenset({"finalizers"})


class PatchError(StoreError):
    code = 422
    reason = "Invalid"


class BadPatch(StoreError):
    code = 400
    reason = "BadRequest"


class ApplyConflict(StoreError):
    code = 409
    reason = "Conflict"

    def __init__(self, message: str, causes: list[Obj]) -> None:
        super().__init__(message)
        self.details: Obj = {"causes": causes}


def _merge_key(field: str, parent_is_container: bool) -> str | None:
    if field == "ports":
        return "containerPort" if parent_is_container else "port"
    return _MERGE_KEYS.get(field)


# ------------------------------------------------------------------------------------------------
# JSON merge patch
# ------------------------------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ------------------------------------------------------------------------------------------------
# Strategic merge patch
# ------------------------------------------------------------------------------------------------
def strategic_merge(target: Any, patch: Any, *, in_container: bool = False) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result: Obj = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
            continue
        is_container = k in ("containers", "initContainers", "ephemeralContainers")
        if isinstance(v, list):
            key = _merge_key(k, in_container)
            cur = result.get(k)
            if key and isinstance(cur, list) and all(isinstance(x, dict) for x in v):
                result[k] = _merge_list(cur, v, key, is_container)
            elif k in _SET_LISTS and isinstance(cur, list):
                result[k] = cur + [x for x in v if x not in cur]
            else:
                result[k] = [
                    {kk: vv for kk, vv in x.items() if kk != "$patch"} if isinstance(x, dict) else x
                    for x in copy.deepcopy(v)
                    if not (isinstance(x, dict) and x.get("$patch") == "delete")
                ]
        elif isinstance(v, dict):
            merged = strategic_merge(result.get(k), v, in_container=is_container or in_container)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        else:
            result[k] = copy.deepcopy(v)
    for field, order in orders.items():
        key = _merge_key(field, in_container)
        items = result.get(field)
        if key and isinstance(items, list) and isinstance(order, list):
            pos = {json.dumps(o.get(key)): i for i, o in enumerate(order) if isinstance(o, dict)}
            items.sort(
                key=lambda x: pos.get(json.dumps(x.get(key) if isinstance(x, dict) else None), len(pos))
            )
    if isinstance(retain, list):
        for k in [k for k in result if k not in retain and k in (target or {})]:
            result.pop(k, None)
    return result


def _merge_list(cur: list[Any], patch: list[Obj], key: str, is_container: bool) -> list[Any]:
    if any(item.get("$patch") == "replace" for item in patch):
        # {"$patch": "replace"} as an element: the other elements are the whole new list
        return [copy.deepcopy(x) for x in patch if x.get("$patch") != "replace"]
    out = copy.deepcopy(cur)
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item, in_container=is_container))
        else:
            out[idx] = strategic_merge(out[idx], item, in_container=is_container)
    return out


# ------------------------------------------------------------------------------------------------
# JSON patch
# ------------------------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], op: str, path: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError(
                    f'{op} operation does not apply: doc is missing path: "{path}": missing value'
                )
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError(
                    f'{op} operation does not apply: doc is missing path: "{path}": missing value'
                ) from None
        else:
            raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return cur


def json_patch(doc: Obj, ops: Any) -> Obj:
    if not isinstance(ops, list):
        raise BadPatch("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    result: Any = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise BadPatch("the server rejected our request due to an error in our request")
        kind = op["op"]
        path = op.get("path", "")
        parts = _pointer(path)
        if kind == "test":
            if _walk(result, parts, kind, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
            continue
        if kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = copy.deepcopy(_walk(result, src, kind, op.get("from", "")))
            if kind == "move":
                result = _remove(result, src, op.get("from", ""))
            result = _add(result, parts, value, path)
            continue
        if kind == "remove":
            result = _remove(result, parts, path)
        elif kind == "add":
            result = _add(result, parts, copy.deepcopy(op.get("value")), path)
        elif kind == "replace":
            _walk(result, parts, "replace", path)
            result = _remove(result, parts, path)
            result = _add(result, parts, copy.deepcopy(op.get("value")), path)
        else:
            raise BadPatch(f"Unexpected kind: {kind}")
    if not isinstance(result, dict):
        raise PatchError("patch result is not an object")
    return result


def _add(doc: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], "add", path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError(f'add operation does not apply: doc is missing path: "{path}"') from None
            if i < 0 or i > len(parent):
                raise PatchError(f"add operation does not apply: index out of range: {i}")
            parent.insert(i, value)
    else:
        raise PatchError(f'add operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        return None
    parent = _walk(doc, parts[:-1], "remove", path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        try:
            parent.pop(int(last))
        except (ValueError, IndexError):
            raise PatchError(
                f'remove operation does not apply: doc is missing path: "{path}": missing value'
            ) from None
    else:
        raise PatchError(f'remove operation does not apply: doc is missing path: "{path}": missing value')
    return doc


# ------------------------------------------------------------------------------------------------
# Dispatch for PATCH
# ------------------------------------------------------------------------------------------------
def _is_custom_kind(kind: str) -> bool:
    return kind in {"GitRepository", "HelmRepository", "OCIRepository", "Kustomization", "HelmRelease"}


def patch(cur: Obj, raw: bytes, content_type: str, kind: str) -> Obj:
    """``cur`` patched with ``raw`` of ``content_type``; the result is a new dict."""
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadPatch(f"error decoding patch: {exc}") from None
    if content_type == JSON_PATCH:
        return json_patch(cur, body)
    if not isinstance(body, dict):
        raise BadPatch("json: cannot unmarshal array into Go value of type map[string]interface {}")
    if content_type == MERGE:
        out = merge_patch(cur, body)
    else:
        if _is_custom_kind(kind):
            raise StoreErrorUnsupported(
                "the body of the request was in an unknown format - accepted media types include: "
                f"{JSON_PATCH}, {MERGE}, {APPLY}"
            )
        out = strategic_merge(cur, body)
    if not isinstance(out, dict):
        raise PatchError("patch result is not an object")
    return out


class StoreErrorUnsupported(StoreError):
    code = 415
    reason = "UnsupportedMediaType"


def decode_apply(raw: bytes) -> Obj:
    """An apply body (YAML; clients mostly send JSON, which is YAML and parsed as JSON first)."""
    try:
        text = raw.decode() if raw else ""
        try:
            data = json.loads(text)
        except ValueError:
            data = yamltext.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadPatch(f"error decoding YAML: {exc}") from None
    if not isinstance(data, dict):
        raise BadPatch("error decoding YAML: the applied configuration is not an object")
    return data


# ------------------------------------------------------------------------------------------------
# Field ownership (managedFields, FieldsV1)
# ------------------------------------------------------------------------------------------------
Path = tuple[str, ...]  # elements "f:<name>", "k:<json>", or "." (the list element itself)

_UNOWNED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "generateName",
    }
)


def _owned_view(obj: Obj, status_only: bool) -> Obj:
    """The part of an object whose fields are tracked for ownership."""
    if status_only:
        return {"status": obj["status"]} if "status" in obj else {}
    view: Obj = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _UNOWNED_META}
    if meta:
        view["metadata"] = meta
    return view


def leaf_paths(value: Any, prefix: Path = (), in_container: bool = False) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            p = (*prefix, f"f:{k}")
            if isinstance(v, list):
                key = _merge_key(k, in_container)
                if key and v and all(isinstance(x, dict) and key in x for x in v):
                    child_container = k in ("containers", "initContainers", "ephemeralContainers")
                    for item in v:
                        ip = (*p, "k:" + json.dumps({key: item[key]}, separators=(",", ":")))
                        yield (*ip, "."), None
                        yield from leaf_paths(item, ip, child_container)
                    continue
            yield from (
                leaf_paths(v, p, k in ("containers", "initContainers", "ephemeralContainers"))
                if (isinstance(v, dict) and v)
                else iter([(p, v)])
            )
    else:
        yield prefix, value


def _get(obj: Any, path: Path) -> tuple[bool, Any]:
    cur = obj
    for el in path:
        if el == ".":
            return True, None
        if el.startswith("f:"):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return False, None
            cur = cur[el[2:]]
        else:
            want = json.loads(el[2:])
            if not isinstance(cur, list):
                return False, None
            match = next(
                (x for x in cur if isinstance(x, dict) and all(x.get(k) == v for k, v in want.items())), None
            )
            if match is None:
                return False, None
            cur = match
    return True, cur


def _remove_path(obj: Any, path: Path) -> None:
    if not path:
        return
    if path[-1] == ".":
        parent_ok, parent = _get(obj, path[:-2])
        if parent_ok and isinstance(parent, list):
            want = json.loads(path[-2][2:])
            parent[:] = [
                x for x in parent if not (isinstance(x, dict) and all(x.get(k) == v for k, v in want.items()))
            ]
        return
    ok, parent = _get(obj, path[:-1])
    if ok and isinstance(parent, dict) and path[-1].startswith("f:"):
        parent.pop(path[-1][2:], None)


def _prune_empty(obj: Obj, path: Path, kept: set[Path]) -> None:
    """After a removal, drop maps and lists it left empty, unless someone owns them as such."""
    while path:
        ok, value = _get(obj, path)
        if not ok or value not in ({}, []) or path in kept:
            return
        if path[-1].startswith("k:"):
            _remove_path(obj, (*path, "."))
        else:
            _remove_path(obj, path)
        path = path[:-1]
        if path and path[-1].startswith("k:"):
            return  # a keyed list element keeps its key fields: it is never empty


def path_text(path: Path) -> str:
    out = ""
    for el in path:
        if el == ".":
            continue
        if el.startswith("f:"):
            out += "." + el[2:]
        else:
            want = json.loads(el[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in want.items()) + "]"
    return out


def to_fields_v1(paths: set[Path]) -> Obj:
    root: Obj = {}
    for path in sorted(paths):
        node = root
        for el in path:
            node = node.setdefault(el, {})
    return root


def from_fields_v1(fields: Obj, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for k, v in (fields or {}).items():
        p = (*prefix, k)
        if isinstance(v, dict) and v:
            out |= from_fields_v1(v, p)
        else:
            out.add(p)
    return out


def _entries(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry_paths(entry: Obj) -> set[Path]:
    return from_fields_v1(entry.get("fieldsV1") or {})


def _set_entries(obj: Obj, entries: list[Obj]) -> None:
    meta = obj.setdefault("metadata", {})
    kept = [e for e in entries if e.get("fieldsV1")]
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


def _entry(manager: str, operation: str, api_version: str, paths: set[Path], subresource: str | None) -> Obj:
    e: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        e["subresource"] = subresource
    return e


def record_update(new: Obj, cur: Obj | None, manager: str, operation: str) -> None:
    """Give ``manager`` (operation Update) the fields that a create/update/patch changed, in ``new``."""
    api_version = str(new.get("apiVersion") or (cur or {}).get("apiVersion") or "v1")
    new_leaves = dict(leaf_paths(_owned_view(new, False)))
    old_leaves = dict(leaf_paths(_owned_view(cur, False))) if cur is not None else {}
    changed = {p for p, v in new_leaves.items() if p not in old_leaves or old_leaves[p] != v}
    entries = _entries(cur) if cur is not None else []
    if not changed and cur is not None:
        _set_entries(new, entries)
        return
    out: list[Obj] = []
    mine: set[Path] = set()
    for e in entries:
        paths = _entry_paths(e)
        if e.get("manager") == manager and e.get("operation") == operation and not e.get("subresource"):
            mine = paths
            continue
        paths -= changed
        out.append({**e, "fieldsV1": to_fields_v1(paths)})
    # fields that no longer exist are owned by nobody
    mine = {p for p in mine if p in new_leaves} | changed
    out.append(_entry(manager, operation, api_version, mine, None))
    out = [{**e, "fieldsV1": to_fields_v1({p for p in _entry_paths(e) if p in new_leaves})} for e in out]
    _set_entries(new, out)


def apply_create(applied: Obj, manager: str, api_version: str) -> Obj:
    obj = copy.deepcopy(applied)
    obj.setdefault("metadata", {}).pop("managedFields", None)
    paths = {p for p, _ in leaf_paths(_owned_view(obj, False))}
    _set_entries(obj, [_entry(manager, "Apply", api_version, paths, None)])
    return obj


def apply(
    cur: Obj, applied: Obj, manager: str, force: bool, api_version: str, *, status_only: bool = False
) -> Obj:
    """Server-side apply of ``applied`` by ``manager`` onto ``cur``; a new dict, or ``ApplyConflict``."""
    applied = copy.deepcopy(applied)
    applied.setdefault("metadata", {}).pop("managedFields", None)
    subresource = "status" if status_only else None
    config = _owned_view(applied, status_only)
    new_leaves = dict(leaf_paths(config))
    entries = _entries(cur)
    if not entries and not status_only:
        # like the real server: an object nobody manages yet (here: written by a controller straight
        # into the store) has its existing fields owned by "before-first-apply"
        existing = {p for p, _ in leaf_paths(_owned_view(cur, False))}
        if existing:
            entries = [_entry("before-first-apply", "Update", api_version, existing, None)]
    conflicts: dict[tuple[str, str], list[Path]] = {}
    for e in entries:
        if (e.get("manager"), e.get("operation"), e.get("subresource")) == (manager, "Apply", subresource):
            continue
        if e.get("subresource") != subresource:
            continue
        for p in _entry_paths(e):
            if p[-1] == "." or p not in new_leaves:
                continue
            ok, existing = _get(cur, p)
            if ok and existing != new_leaves[p]:
                conflicts.setdefault((str(e.get("manager")), str(e.get("apiVersion"))), []).append(p)
    if conflicts and not force:
        raise _conflict_error(conflicts)
    prev: set[Path] = set()
    out: list[Obj] = []
    stolen = {p for ps in conflicts.values() for p in ps}
    for e in entries:
        if (e.get("manager"), e.get("operation"), e.get("subresource")) == (manager, "Apply", subresource):
            prev = _entry_paths(e)
            continue
        if stolen:
            e = {**e, "fieldsV1": to_fields_v1(_entry_paths(e) - stolen)}
        out.append(e)
    result = _apply_merge(cur, applied, status_only)
    others: set[Path] = set()
    for e in out:
        others |= _entry_paths(e)
    kept = others | set(new_leaves)
    # deepest first; at equal depth a whole list element (".") goes before its own fields
    for p in sorted(prev - kept, key=lambda q: (-len(q), q[-1] != ".")):
        if p[-1] == "." and any(o[: len(p) - 1] == p[:-1] for o in others):
            continue
        _remove_path(result, p)
        _prune_empty(result, p[:-2] if p[-1] == "." else p[:-1], kept)
    out.append(_entry(manager, "Apply", api_version, set(new_leaves), subresource))
    _set_entries(result, out)
    return result


def _apply_merge(cur: Obj, applied: Obj, status_only: bool) -> Obj:
    if status_only:
        return {
            **copy.deepcopy(cur),
            "status": strategic_merge(cur.get("status"), applied.get("status") or {}),
        }
    patch_doc = {k: v for k, v in applied.items() if k not in ("status",)}
    meta = {k: v for k, v in (patch_doc.get("metadata") or {}).items() if k not in _UNOWNED_META}
    patch_doc["metadata"] = meta
    out = strategic_merge(cur, patch_doc)
    assert isinstance(out, dict)
    return out


def _conflict_error(conflicts: dict[tuple[str, str], list[Path]]) -> ApplyConflict:
    total = sum(len(v) for v in conflicts.values())
    causes: list[Obj] = []
    if total == 1:
        (mgr, av), paths = next(iter(conflicts.items()))
        msg = f'Apply failed with 1 conflict: conflict with "{mgr}" using {av}: {path_text(paths[0])}'
        causes.append(
            {
                "reason": "FieldManagerConflict",
                "message": f'conflict with "{mgr}" using {av}',
                "field": path_text(paths[0]),
            }
        )
        return ApplyConflict(msg, causes)
    parts = [f"Apply failed with {total} conflicts:"]
    for (mgr, av), paths in conflicts.items():
        word = "conflicts" if len(paths) > 1 else "conflict"
        parts.append(
            f' {word} with "{mgr}" using {av}:\n' + "\n".join(f"- {path_text(p)}" for p in sorted(paths))
        )
        for p in sorted(paths):
            causes.append(
                {
                    "reason": "FieldManagerConflict",
                    "message": f'conflict with "{mgr}" using {av}',
                    "field": path_text(p),
                }
            )
    return ApplyConflict("".join(parts), causes)
