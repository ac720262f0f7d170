"""The Kubernetes client of the tool: JSON over the API's REST paths, without the
``kubernetes`` package (``adapters.kubeconfig`` reads the kubeconfig, ``adapters.kube_http``
is the transport; only kubeconfig users with an ``exec`` plugin or ``auth-provider`` load
the package, lazily, for their credentials).

Every call hands out plain JSON (``dict``) exactly as the API server answered; nothing builds
model objects. Resources are named by a *key* ``<apiVersion>/<plural>`` — ``"v1/pods"``,
``"apps/v1/deployments"``, ``"helm.toolkit.fluxcd.io/v2/helmreleases"`` — and reached through
the generic REST path, so custom resources need no generated API class.

HTTP error answers and transport failures become the project's errors: ``KubeNotFound``,
``KubeConflict``, ``KubeForbidden``, ``KubeUnauthorized``, ``KubeInvalid`` and
``KubeUnreachable`` (which carries the real connection error text).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from appliance_cli.adapters.kube_http import (
    KubeResponse,
    KubeTransport,
    Timeout,
    error_for,
    json_object,
    transport_text,
)
from appliance_cli.adapters.kube_retry import DEFAULT_RETRY, RetryClock, RetryPolicy, call_with_retries
from appliance_cli.adapters.kubeapi import key_for, plural_of, resource_path  # noqa: F401 (re-exported)
from appliance_cli.adapters.kubeconfig import KubeSettings, in_cluster_settings, read_kubeconfig
from appliance_cli.errors import (
    KubeConflict,
    KubeInvalid,
    KubeNotFound,
    KubeUnreachable,
)

Obj = dict[str, Any]
T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 10.0
# Stamped on every object this client creates, so that an "AlreadyExists" answer to a retried
# create can tell our own first attempt (which reached the server) from someone else's object.
CREATE_REQUEST_ANNOTATION = "appliance.alga-psa.io/create-request"


class KubeClient:
    """A thin JSON client of one API server (``adapters.kube_http`` underneath).

    ``requests`` counts every HTTP request made (thread-safe); the status collector reports
    it. ``timeout`` bounds each request (connect and read) in seconds. ``retry`` says how
    transient failures (429, 5xx, dropped connections) of calls that are safe to repeat are
    retried (``kube_retry``); ``retries`` counts the retries made.
    """

    def __init__(
        self,
        settings: KubeSettings,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: RetryClock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock  # retries wait in this time (None: the wall clock)
        self.transport = KubeTransport(settings)
        self.timeout = timeout
        self.retry = retry
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_kubeconfig(
        cls,
        path: Path | str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: RetryClock | None = None,
    ) -> KubeClient:
        """The client of the kubeconfig's current context; ``UsageError`` naming the file when
        it cannot be used (``adapters.kubeconfig``)."""
        return cls(read_kubeconfig(path), timeout=timeout, retry=retry, clock=clock)

    @classmethod
    def in_cluster(
        cls, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, retry: RetryPolicy = DEFAULT_RETRY
    ) -> KubeClient:
        """The client of the pod's service account; ``UsageError`` outside a cluster."""
        return cls(in_cluster_settings(), timeout=timeout, retry=retry)

    def close(self) -> None:
        self.transport.close()

    @property
    def server(self) -> str:
        return self.settings.server

    # -- raw requests -------------------------------------------------------------------------
    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def _count_retry(self, _attempt: int, _exc: KubeUnreachable) -> None:
        with self._lock:
            self.retries += 1

    def _retrying(self, fn: Callable[[], T]) -> T:
        """``fn()`` with this client's retry policy (only for calls safe to repeat)."""
        if self.clock is None:
            return call_with_retries(fn, self.retry, on_retry=self._count_retry)
        return call_with_retries(
            fn, self.retry, on_retry=self._count_retry, sleep=self.clock.sleep, monotonic=self.clock.monotonic
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: Timeout | None = None,
        stream: bool = False,
        what: str = "",
        retry: bool = False,
    ) -> KubeResponse:
        """Send one request; return the answer (read whole unless ``stream``).

        ``retry``: the call is safe to repeat, so transient failures are retried."""
        if retry and not stream:
            return self._retrying(
                lambda: self._request(
                    method,
                    path,
                    query=query,
                    body=body,
                    content_type=content_type,
                    timeout=timeout,
                    what=what,
                )
            )
        self._count()
        return self.transport.request(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            timeout=self.timeout if timeout is None else timeout,
            stream=stream,
            what=what,
        )

    def _json(self, resp: KubeResponse) -> Obj:
        return json_object(resp.data)

    # -- verbs --------------------------------------------------------------------------------
    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        *,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> Obj:
        """The List object exactly as served (one request; with ``limit``, one page; the next
        page with the previous page's ``metadata.continue`` as ``continue_token``)."""
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if limit:
            query.append(("limit", int(limit)))
        if continue_token:
            query.append(("continue", continue_token))
        path = resource_path(key, namespace)
        return self._json(
            self._request("GET", path, query=query, timeout=timeout, what=f"list {key}", retry=True)
        )

    def get(self, key: str, namespace: str | None, name: str) -> Obj:
        path = resource_path(key, namespace, name)
        return self._json(self._request("GET", path, what=f"get {key} {namespace or ''}/{name}", retry=True))

    def create(self, obj: Obj) -> Obj:
        """Create ``obj``. Retried on transient failures: the object is stamped with a request
        id (``CREATE_REQUEST_ANNOTATION``), and an ``AlreadyExists`` answer to a retry is
        success only when the existing object carries that id (our first attempt got through);
        anyone else's object is still a conflict."""
        meta = dict(obj.get("metadata") or {})
        key = key_for(obj)
        name = meta.get("name")
        request_id = uuid.uuid4().hex
        meta["annotations"] = {**(meta.get("annotations") or {}), CREATE_REQUEST_ANNOTATION: request_id}
        body = {**obj, "metadata": meta}
        path = resource_path(key, meta.get("namespace"))
        attempts = 0

        def once() -> Obj:
            nonlocal attempts
            attempts += 1
            try:
                return self._json(
                    self._request(
                        "POST", path, body=body, content_type="application/json", what=f"create {key}"
                    )
                )
            except KubeConflict:
                if attempts == 1 or not name:
                    raise
                existing = self.get(key, meta.get("namespace"), str(name))
                stamp = ((existing.get("metadata") or {}).get("annotations") or {}).get(
                    CREATE_REQUEST_ANNOTATION
                )
                if stamp != request_id:
                    raise
                return existing

        result: Obj = self._retrying(once)
        return result

    def apply(self, obj: Obj, field_manager: str = "appliance-cli", force: bool = True) -> Obj:
        """Server-side apply (PATCH ``application/apply-patch+yaml``; JSON is valid YAML)."""
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise KubeInvalid("apply: the object has no metadata.name")
        key = key_for(obj)
        path = resource_path(key, meta.get("namespace"), str(name))
        query: list[tuple[str, Any]] = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        return self._json(
            self._request(
                "PATCH",
                path,
                query=query,
                body=obj,
                content_type="application/apply-patch+yaml",
                what=f"apply {obj.get('kind')} {meta.get('namespace') or ''}/{name}",
                retry=True,
            )
        )

    def patch_merge(self, key: str, namespace: str | None, name: str, patch: Obj) -> Obj:
        path = resource_path(key, namespace, name)
        return self._json(
            self._request(
                "PATCH",
                path,
                body=patch,
                content_type="application/merge-patch+json",
                what=f"patch {key} {name}",
                retry=True,
            )
        )

    def delete(
        self,
        key: str,
        namespace: str | None,
        name: str,
        *,
        missing_ok: bool = True,
        propagation: str | None = None,
        uid: str | None = None,
    ) -> Obj | None:
        """Delete one object; a missing object is fine unless ``missing_ok`` is false.

        ``propagation`` (``Background``/``Foreground``/``Orphan``) says what happens to the
        object's dependents; the server's default for a Job is to orphan its pods.
        ``uid``: delete only that incarnation (``DeleteOptions.preconditions.uid``); an object
        of the same name with another uid stays, and the server answers ``KubeConflict``.
        Retried on transient failures; ``NotFound`` answering a retry means the first attempt
        deleted it, which is success.
        """
        path = resource_path(key, namespace, name)
        query = [("propagationPolicy", propagation)] if propagation else None
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}} if uid else None
        attempts = 0

        def once() -> Obj | None:
            nonlocal attempts
            attempts += 1
            try:
                return self._json(
                    self._request(
                        "DELETE",
                        path,
                        query=query,
                        body=body,
                        content_type="application/json" if body else None,
                        what=f"delete {key} {namespace or ''}/{name}",
                    )
                )
            except KubeNotFound:
                if missing_ok or attempts > 1:
                    return None
                raise

        result: Obj | None = self._retrying(once)
        return result

    def watch(
        self,
        key: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 60,
    ) -> Iterator[tuple[str, Obj]]:
        """``(type, object)`` pairs of a ``watch=true`` stream, until the server ends it."""
        import http.client

        query: list[tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", int(timeout_seconds))]
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if resource_version:
            query.append(("resourceVersion", resource_version))
            query.append(("allowWatchBookmarks", "true"))
        path = resource_path(key, namespace)
        raw = self._request(
            "GET", path, query=query, timeout=float(timeout_seconds) + 10.0, stream=True, what=f"watch {key}"
        )
        buf = b""
        ended = False
        try:
            for chunk in raw.stream(65536):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if not line.strip():
                        continue
                    ev = json.loads(line)
                    if ev.get("type") == "ERROR":
                        st = ev.get("object") or {}
                        raise error_for(
                            int(st.get("code") or 500),
                            str(st.get("reason") or ""),
                            json.dumps(st),
                            f"watch {key}",
                        )
                    yield str(ev.get("type")), dict(ev.get("object") or {})
            ended = True
        except (http.client.HTTPException, OSError) as exc:
            raise KubeUnreachable(f"watch {key}: stream broken: {transport_text(exc)}") from exc
        finally:
            if not ended:
                raw.close()  # left mid-stream: the connection cannot serve another request
            raw.release_conn()

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        tail_lines: int = 50,
        *,
        previous: bool = False,
        since_seconds: int | None = None,
    ) -> list[str]:
        """The last ``tail_lines`` lines of a container's log (``tail_lines < 0``: all of it)."""
        query: list[tuple[str, Any]] = [("tailLines", int(tail_lines))] if tail_lines >= 0 else []
        if container:
            query.append(("container", container))
        if previous:
            query.append(("previous", "true"))
        if since_seconds is not None:
            query.append(("sinceSeconds", int(since_seconds)))
        path = resource_path("v1/pods", namespace, pod, "log")
        resp = self._request(
            "GET", path, query=query, what=f"logs {namespace}/{pod}/{container or ''}", retry=True
        )
        return bytes(resp.data or b"").decode(errors="replace").splitlines()

    def follow_pod_logs(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        tail_lines: int = -1,
        since_seconds: int | None = None,
    ) -> LogStream:
        """Open ``follow=true`` on one container: its lines as they are written, until the
        container instance ends (the API server closes the stream) or ``close()`` is called."""
        query: list[tuple[str, Any]] = [("follow", "true"), ("container", container)]
        if tail_lines >= 0:
            query.append(("tailLines", int(tail_lines)))
        if since_seconds is not None:
            query.append(("sinceSeconds", int(since_seconds)))
        path = resource_path("v1/pods", namespace, pod, "log")
        # No read timeout: a quiet container may write nothing for hours.
        resp = self._request(
            "GET",
            path,
            query=query,
            timeout=(self.timeout, None),
            stream=True,
            what=f"logs -f {namespace}/{pod}/{container}",
        )
        return LogStream(resp, f"{namespace}/{pod}/{container}")

    def exec(
        self, namespace: str, pod: str, container: str, command: list[str], timeout: float = 10.0
    ) -> tuple[str, str, int | None]:
        """Run ``command`` in a container; ``(stdout, stderr, exit code)`` (``None`` if unknown).

        Over the raw WebSocket endpoint (``adapters.kube_exec``), never the client's model layer.
        """
        import io

        out = io.BytesIO()
        _, err, code = self.exec_stream(namespace, pod, container, command, sink=out, timeout=timeout)
        return out.getvalue().decode(errors="replace"), err, code

    def exec_stream(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: list[str],
        *,
        sink: BinaryIO | None = None,
        stdin: BinaryIO | None = None,
        timeout: float = 1800.0,
    ) -> tuple[int, str, int | None]:
        """``adapters.kube_exec.exec_stream`` with this client's settings, counted as a request:
        stdout to ``sink``, ``stdin`` streamed in; ``(stdout bytes, stderr text, exit code)``."""
        from appliance_cli.adapters.kube_exec import exec_stream

        return exec_stream(
            self.settings,
            namespace,
            pod,
            container,
            command,
            sink=sink,
            stdin=stdin,
            timeout=timeout,
            on_request=self._count,
        )


class LogStream:
    """A followed container log: iterate for lines; ``close()`` (any thread) ends it."""

    def __init__(self, raw: KubeResponse, what: str) -> None:
        self._raw = raw
        self._what = what
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        import http.client

        buf = b""
        try:
            for chunk in self._raw.stream(4096):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    yield line.decode(errors="replace")
            if buf:
                yield buf.decode(errors="replace")
        except (http.client.HTTPException, OSError, ValueError, AttributeError) as exc:
            if not self._closed.is_set():
                raise KubeUnreachable(f"logs {self._what}: stream broken: {transport_text(exc)}") from exc
        finally:
            self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for step in ("shutdown", "release_conn"):
            try:
                getattr(self._raw, step)()
            except Exception:  # closing a socket that is already gone
                continue
