"""List, get, create, replace, patch (merge, strategic, JSON patch, server-side apply) and
delete of the lab's objects, with the API server's validation and defaults."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from appliance_lab import api_discovery as disc
from appliance_lab import api_patch, api_tables
from appliance_lab.api_base import HandlerBase
from appliance_lab.api_defaults import apply_create_defaults
from appliance_lab.api_http import (
    _DNS1123,
    ApiError,
    _decode_continue,
    _details,
    _dumps,
    _encode_continue,
    _qs,
    _qs_bool,
    _qs_int,
    _Route,
)
from appliance_lab.store import (
    RESOURCE_TYPES,
    NotFound,
    Obj,
    ResourceType,
    Store,
    StoreError,
    now_rfc3339,
)


class CrudMixin(HandlerBase):
    def _list(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        lab = self.lab
        matcher = self._matcher(rt, query)
        limit = _qs_int(query, "limit") or 0
        token = _qs(query, "continue")
        after = _decode_continue(token, rt.namespaced) if token else None
        keys, lookup, rv = lab.store.scan(rt, route.namespace, after)
        out: list[Obj] = []
        cont_key: tuple[str, str] | None = None
        n = len(keys)
        i = 0
        while i < n:
            key = keys[i]
            i += 1
            obj = lookup(key)
            if obj is None or (matcher is not None and not matcher(obj)):
                continue
            out.append(obj)
            if limit and len(out) >= limit:
                if i < n:
                    cont_key = key
                break
        meta: Obj = {"resourceVersion": str(rv)}
        if cont_key is not None:
            meta["continue"] = _encode_continue(rv, cont_key)
            if matcher is None:
                meta["remainingItemCount"] = n - i
        if self._wants_table():
            self._send_json(
                200,
                api_tables.table(
                    rt, out, rv, meta=meta, include_object=_qs(query, "includeObject") or "Metadata"
                ),
            )
            return
        head = _dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta})[:-1]
        body = b"".join((head, b',"items":[', b",".join(lab.obj_bytes(rt, o) for o in out), b"]}"))
        self._send_json(200, body)

    # -- create / replace / patch / delete -----------------------------------------------------
    def _check_type(self, rt: ResourceType, obj: Obj) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not kind:
            # like the real decoder: a missing kind/apiVersion defaults to the URL's
            obj["kind"] = kind = rt.kind
        if api_version and api_version != rt.api_version:
            raise ApiError(
                400,
                "BadRequest",
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})",
            )
        if kind != rt.kind:
            raise ApiError(
                400,
                "BadRequest",
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})",
            )

    def _create(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        obj = self._body_json()
        self._check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if route.namespace and meta.get("namespace") and meta["namespace"] != route.namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        validate_name(rt, obj)
        prepare_create(rt, obj)
        api_patch.record_update(obj, None, self._manager(query, "create"), "Update")
        dry = _is_dry_run(query)
        store = self._store_for(query, rt, route.namespace or meta.get("namespace"), meta.get("name"))
        try:
            created = store.create(rt, obj, route.namespace)
        except StoreError as err:
            raise ApiError(err.code, err.reason, err.message, _details(rt, meta.get("name"))) from err
        if dry:
            created["metadata"].pop("resourceVersion", None)
            self._send_json(201, created)
            return
        self._send_json(201, self.lab.obj_bytes(rt, created))

    def _store_for(
        self, query: dict[str, list[str]], rt: ResourceType, namespace: str | None, name: str | None
    ) -> Store:
        """The lab's store, or for ``dryRun=All`` a scratch copy of what the request touches."""
        dry = query.get("dryRun") or []
        if any(v != "All" for v in dry):
            raise ApiError(400, "BadRequest", f"Invalid dry run value: {dry}")
        if not dry:
            return self.lab.store
        return self.lab.store.dry_run_copy(rt, namespace if rt.namespaced else None, name)

    def _answer_write(
        self, rt: ResourceType, query: dict[str, list[str]], obj: Obj, before: Obj | None
    ) -> None:
        if _is_dry_run(query):
            if before is not None:
                obj["metadata"]["resourceVersion"] = before["metadata"]["resourceVersion"]
            self._send_json(200, obj)
        else:
            self._send_json(200, self.lab.obj_bytes(rt, obj))

    def _manager(self, query: dict[str, list[str]], verb: str) -> str:
        explicit = _qs(query, "fieldManager")
        if explicit:
            return explicit
        agent = self.headers.get("User-Agent", "")
        base = agent.split("/", 1)[0] if agent else "unknown"
        if base == "kubectl" or base.startswith("kubectl"):
            return {"create": "kubectl-create", "update": "kubectl-replace", "patch": "kubectl-patch"}.get(
                verb, base
            )
        return base or "unknown"

    def _replace(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        obj = self._body_json()
        self._check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
            )
        if route.namespace and meta.get("namespace") and meta["namespace"] != route.namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        store = self._store_for(query, rt, route.namespace, name)
        before = store.try_get(rt, route.namespace, name)
        manager = self._manager(query, "update")
        if route.subresource == "status":
            new = store.replace(rt, route.namespace, name, obj, subresource="status")
        else:
            cur = store.get_ref(rt, route.namespace, name)
            if disc.has_status_subresource(rt) and rt.kind != "Namespace":
                # the main resource ignores status; only …/status writes it
                if "status" in cur:
                    obj["status"] = cur["status"]
                else:
                    obj.pop("status", None)
            api_patch.record_update(obj, cur, manager, "Update")
            new = store.replace(rt, route.namespace, name, obj)
        self._answer_write(rt, query, new, before)

    def _patch(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        raw = self._read_body()
        store = self._store_for(query, rt, route.namespace, name)
        before = store.try_get(rt, route.namespace, name)
        force = _qs_bool(query, "force")
        status_only = route.subresource == "status"
        if ctype == api_patch.APPLY:
            manager = _qs(query, "fieldManager") or ""
            if not manager:
                raise ApiError(
                    400,
                    "BadRequest",
                    "PATCH /apply requires fieldManager to be set in the query parameters",
                )
            applied = api_patch.decode_apply(raw)
            self._check_type(rt, applied)
            a_meta = applied.get("metadata") or {}
            if a_meta.get("name") and a_meta["name"] != name:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"the name of the object ({a_meta['name']}) does not match the name on the URL ({name})",
                )
            if before is None:
                if status_only:
                    raise ApiError(
                        404, "NotFound", f'{_group_res(rt)} "{name}" not found', _details(rt, name)
                    )
                obj = api_patch.apply_create(applied, manager, rt.api_version)
                obj.setdefault("metadata", {})["name"] = name
                validate_name(rt, obj)
                prepare_create(rt, obj)
                try:
                    created = store.create(rt, obj, route.namespace)
                except StoreError as err:
                    raise ApiError(err.code, err.reason, err.message, _details(rt, name)) from err
                if _is_dry_run(query):
                    created["metadata"].pop("resourceVersion", None)
                    self._send_json(201, created)
                else:
                    self._send_json(201, self.lab.obj_bytes(rt, created))
                return

            def do_apply(cur: Obj) -> None:
                result = api_patch.apply(
                    cur, applied, manager, force, rt.api_version, status_only=status_only
                )
                _swap(cur, result, status_only, rt)

            new = store.mutate(rt, route.namespace, name, do_apply)
            self._answer_write(rt, query, new, before)
            return
        if ctype not in api_patch.PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join((*api_patch.PATCH_TYPES, api_patch.APPLY))}",
                {},
            )
        manager = self._manager(query, "patch")

        def do_patch(cur: Obj) -> None:
            result = api_patch.patch(cur, raw, ctype, rt.kind)
            sent_rv = (result.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != cur["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {_group_res(rt)} "{name}": '
                    "the object has been modified; "
                    "please apply your changes to the latest version and try again",
                    _details(rt, name),
                )
            if not status_only:
                api_patch.record_update(result, cur, manager, "Update")
            _swap(cur, result, status_only, rt)

        new = store.mutate(rt, route.namespace, name, do_patch)
        self._answer_write(rt, query, new, before)

    def _delete(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        raw = self._read_body()
        opts: Obj = {}
        if raw.strip():
            with contextlib.suppress(ValueError):
                loaded = json.loads(raw)
                if isinstance(loaded, dict):
                    opts = loaded
        policy = _qs(query, "propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise ApiError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
                'supported values: "Foreground", "Background", "Orphan", "nil"',
            )
        store = self.lab.store
        precond = opts.get("preconditions") or {}
        if precond:
            cur = store.get_ref(rt, route.namespace, name)
            for field in ("uid", "resourceVersion"):
                want = precond.get(field)
                label = "UID" if field == "uid" else "ResourceVersion"
                if want and want != cur["metadata"].get(field):
                    raise ApiError(
                        409,
                        "Conflict",
                        f"Precondition failed: {label} in precondition: {want}, "
                        f"{label} in object meta: {cur['metadata'].get(field)}",
                        _details(rt, name),
                    )
        if _is_dry_run(query):
            cur = store.get_ref(rt, route.namespace, name)
            self._send_json(200, self.lab.obj_bytes(rt, cur))
            return
        gone = store.delete(rt, route.namespace, name)
        if policy != "Orphan":
            collect_dependents(store, gone)
        if rt.kind in ("Namespace", "Pod"):
            # The real server answers with the object, now terminating (deletion is graceful).
            meta = gone["metadata"]
            meta["deletionTimestamp"] = now_rfc3339()
            if rt.kind == "Pod":
                meta["deletionGracePeriodSeconds"] = 30
            else:
                gone.setdefault("status", {})["phase"] = "Terminating"
            self._send_json(200, gone)
            return
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**_details(rt, name), "uid": gone["metadata"].get("uid")},
        }
        self._send_json(200, body)

    def _delete_collection(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        self._read_body()
        if rt.kind == "Namespace":
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )
        matcher = self._matcher(rt, query)
        store = self.lab.store
        items, _ = store.snapshot(rt, route.namespace)
        deleted: list[Obj] = []
        for (ns, name), obj in items:
            if matcher is not None and not matcher(obj):
                continue
            with contextlib.suppress(NotFound):
                gone = store.delete(rt, ns or None, name)
                collect_dependents(store, gone)
                deleted.append(gone)
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(store.resource_version)},
            "items": deleted,
        }
        self._send_json(200, body)


# ------------------------------------------------------------------------------------------------
# Object helpers
# ------------------------------------------------------------------------------------------------
def _selected_type(
    etype: str, obj: Obj, previous: Obj | None, matcher: Callable[[Obj], bool] | None
) -> str | None:
    """The event type a selector watch sees (``None``: not at all), as the real watch cache does."""
    if matcher is None:
        return etype
    now = matcher(obj)
    if etype != "MODIFIED":
        return etype if now else None
    before = matcher(previous) if previous is not None else now
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    if before:
        return "DELETED"
    return None


def _group_res(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def _is_dry_run(query: dict[str, list[str]]) -> bool:
    return "All" in (query.get("dryRun") or [])


def validate_name(rt: ResourceType, obj: Obj) -> None:
    import re

    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        if meta.get("generateName"):
            return
        raise ApiError(
            422,
            "Invalid",
            f'{rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
            {
                "kind": rt.plural,
                **({"group": rt.group} if rt.group else {}),
                "causes": [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: name or generateName is required",
                        "field": "metadata.name",
                    }
                ],
            },
        )
    if len(name) > 253 or not re.fullmatch(_DNS1123, name):
        msg = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', "
            "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
        raise ApiError(
            422,
            "Invalid",
            f'{rt.kind} "{name}" is invalid: metadata.name: {msg}',
            {
                "name": name,
                **({"group": rt.group} if rt.group else {}),
                "kind": rt.kind,
                "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": "metadata.name"}],
            },
        )


def prepare_create(rt: ResourceType, obj: Obj) -> None:
    """What the real API server does to an object on create: system fields reset, defaults filled."""
    meta = obj.setdefault("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
        meta.pop(k, None)
    if disc.has_status_subresource(rt):
        # like the real strategies: status is not writable on create (controllers fill it in)
        obj.pop("status", None)
    apply_create_defaults(rt, obj)


def collect_dependents(store: Store, owner: Obj) -> None:
    """Background garbage collection: delete objects whose ownerReferences point at ``owner``."""
    uid = owner["metadata"].get("uid")
    ns = owner["metadata"].get("namespace")
    pending = [uid]
    while pending:
        owner_uid = pending.pop()
        for rt in RESOURCE_TYPES:
            if not rt.namespaced and ns:
                # namespaced owners cannot own cluster-scoped objects
                continue
            items, _ = store.snapshot(rt, ns if rt.namespaced else None)
            for (ons, oname), obj in items:
                refs = obj.get("metadata", {}).get("ownerReferences") or []
                if any(r.get("uid") == owner_uid for r in refs):
                    with contextlib.suppress(NotFound):
                        gone = store.delete(rt, ons or None, oname)
                        pending.append(gone["metadata"].get("uid"))


def _swap(cur: Obj, result: Obj, status_only: bool, rt: ResourceType) -> None:
    """Write a patch result into ``cur`` in place (inside ``Store.mutate``)."""
    if status_only:
        if "status" in result:
            cur["status"] = result["status"]
        else:
            cur.pop("status", None)
        managed = (result.get("metadata") or {}).get("managedFields")
        if managed is not None:
            cur.setdefault("metadata", {})["managedFields"] = managed
        return
    keep_status = disc.has_status_subresource(rt) and rt.kind != "Namespace"
    status = cur.get("status")
    cur.clear()
    cur.update(result)
    cur["apiVersion"] = rt.api_version
    cur["kind"] = rt.kind
    if keep_status:
        if status is None:
            cur.pop("status", None)
        else:
            cur["status"] = status
    cur.setdefault("metadata", {})
