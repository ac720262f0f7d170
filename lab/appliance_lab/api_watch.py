"""``watch=true`` streams: resourceVersion, bookmarks, 410 Gone, selectors, dropped clients."""

from __future__ import annotations

import time

from appliance_lab import api_tables
from appliance_lab.api_base import HandlerBase
from appliance_lab.api_crud import _selected_type
from appliance_lab.api_http import (
    ApiError,
    _Dropped,
    _dumps,
    _qs,
    _qs_bool,
    _qs_int,
    _Route,
    status_object,
)
from appliance_lab.store import (
    Expired,
    Obj,
)


class WatchMixin(HandlerBase):
    # -- watch ---------------------------------------------------------------------------------

    def _watch(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        lab = self.lab
        store = lab.store
        matcher = self._matcher(rt, query)
        rv_raw = _qs(query, "resourceVersion") or ""
        timeout = _qs_int(query, "timeoutSeconds")
        duration = float(timeout) if timeout is not None and timeout > 0 else lab.max_watch_seconds
        bookmarks = _qs_bool(query, "allowWatchBookmarks")
        initial: list[Obj] = []
        expired: Expired | None = None
        watcher = None
        # the store's watcher sees every change of the type; selectors are applied here, on both
        # the new and the previous object, so objects that stop matching leave with DELETED
        send_initial = _qs_bool(query, "sendInitialEvents")
        if send_initial and not bookmarks:
            raise ApiError(
                422,
                "Invalid",
                'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Forbidden: '
                "allowWatchBookmarks must be set to true when sendInitialEvents is specified",
            )
        initial_rv = 0
        if rv_raw in ("", "0") or send_initial:
            initial, watcher = store.watch_with_initial(rt, route.namespace, None)
            initial_rv = store.resource_version
            if matcher is not None:
                initial = [o for o in initial if matcher(o)]
        else:
            try:
                since = int(rv_raw)
            except ValueError:
                raise ApiError(400, "BadRequest", f'invalid resource version "{rv_raw}"') from None
            try:
                watcher = store.watch(rt, route.namespace, None, since=since)
            except Expired as err:
                expired = err
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        # the connection ends with the stream: said so, a client never reuses it for its next
        # request (which would then find it closed)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        as_table = self._wants_table()
        include = _qs(query, "includeObject") or "Metadata"

        def event(etype: str, obj: Obj | bytes) -> bytes:
            body = obj if isinstance(obj, bytes) else _dumps(obj)
            return b'{"type":"' + etype.encode() + b'","object":' + body + b"}\n"

        def payload(obj: Obj, deleted: bool = False) -> bytes:
            # kubectl get -w asks for Table rows; each event then carries a one-row Table
            if as_table:
                return _dumps(api_tables.table(rt, [obj], 0, single=True, include_object=include))
            return _dumps(obj) if deleted else lab.obj_bytes(rt, obj)

        lab._stream_count(1)
        with lab._conns_lock:
            epoch = lab.watch_epoch  # ``drop_watches`` moves it on: this stream is then cut
            if watcher is not None:
                lab._watchers.add(watcher)
        try:
            if expired is not None:
                self._write_chunk(event("ERROR", status_object(410, "Expired", expired.message)))
            for obj in initial:
                self._write_chunk(event("ADDED", payload(obj)))
            if send_initial:
                # the streaming-list protocol (WatchList): a bookmark marks the end of the initial state
                end = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {
                        "resourceVersion": str(initial_rv),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }
                self._write_chunk(event("BOOKMARK", end))
            deadline = time.monotonic() + duration
            next_bookmark = time.monotonic() + lab.bookmark_interval
            while watcher is not None and not lab._stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                injector = lab._injector
                if (injector is not None and injector.in_outage()) or lab.watch_epoch != epoch:
                    raise _Dropped()
                if bookmarks and now >= next_bookmark:
                    mark = {
                        "kind": rt.kind,
                        "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": str(store.resource_version)},
                    }
                    self._write_chunk(event("BOOKMARK", mark))
                    next_bookmark = now + lab.bookmark_interval
                wait = min(deadline - now, 0.5, max(next_bookmark - now, 0.01) if bookmarks else 0.5)
                try:
                    ev = watcher.queue.get(timeout=max(wait, 0.001))
                except Exception:  # queue.Empty
                    if self._client_gone():
                        break
                    continue
                if ev is None:
                    if lab.watch_epoch != epoch:
                        raise _Dropped()
                    break
                etype = _selected_type(ev.type, ev.object, ev.previous, matcher)
                if etype is None:
                    continue
                self._write_chunk(event(etype, payload(ev.object, ev.type == "DELETED")))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            lab._stream_count(-1)
            if watcher is not None:
                with lab._conns_lock:
                    lab._watchers.discard(watcher)
                store.stop_watch(watcher)
