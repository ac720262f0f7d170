"""What the reset needs from the Kubernetes adapter (``adapters.kube.KubeClient``): plain JSON."""

from __future__ import annotations

from typing import Any, Protocol


class ResetKube(Protocol):
    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]: ...

    def get(self, key: str, namespace: str | None, name: str) -> dict[str, Any]: ...

    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...

    def patch_merge(
        self, key: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]: ...

    def delete(
        self,
        key: str,
        namespace: str | None,
        name: str,
        *,
        missing_ok: bool = ...,
        propagation: str | None = ...,
    ) -> Any: ...

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int = 50
    ) -> list[str]: ...
