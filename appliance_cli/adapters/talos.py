"""The Talos adapter interface used by bootstrap phase 0 and the status collector.

The real implementation runs ``talosctl`` (``TalosctlAdapter``, below in this package);
the lab provides a simulated one. Only ``adapters.factory`` chooses between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Disk:
    dev_path: str  # "/dev/sda"
    size_bytes: int
    model: str = ""
    transport: str = ""  # "sata", "nvme", "virtio", ...
    readonly: bool = False


@dataclass(frozen=True)
class MaintenanceInfo:
    """What the insecure maintenance API answered (``talosctl get disks --insecure``)."""

    reachable: bool
    disks: tuple[Disk, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class GeneratedConfig:
    controlplane_yaml: str  # multi-document machine config, secret material inside
    talosconfig_yaml: str  # client config, secret material inside


@dataclass(frozen=True)
class GenConfigRequest:
    cluster_name: str
    endpoint: str  # "https://<node-ip>:6443"
    node_ip: str
    talos_version: str
    kubernetes_version: str
    install_disk: str
    installer_image: str
    patches: tuple[str, ...] = ()  # YAML strategic-merge patches for the controlplane config
    extra_documents: tuple[str, ...] = ()  # extra YAML documents (HostnameConfig, ResolverConfig, ...)
    additional_sans: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class HealthResult:
    reachable: bool
    healthy: bool
    error: str | None = None


class TalosAdapter(Protocol):
    """What bootstrap and status need from a Talos node."""

    def maintenance_info(self, node_ip: str) -> MaintenanceInfo: ...

    def gen_config(self, request: GenConfigRequest, workdir: Path) -> GeneratedConfig: ...

    def apply_config(self, node_ip: str, config_file: Path) -> None:
        """Apply a machine config to a node in maintenance mode (``--insecure``)."""
        ...

    def secure_api_ready(self, node_ip: str, talosconfig: Path) -> bool: ...

    def bootstrap_etcd(self, node_ip: str, talosconfig: Path) -> None:
        """``talosctl bootstrap``; an already-bootstrapped node is not an error."""
        ...

    def write_kubeconfig(self, node_ip: str, talosconfig: Path, out: Path) -> None: ...

    def health(self, node_ip: str, talosconfig: Path) -> HealthResult: ...

    def pull_image(self, node_ip: str, talosconfig: Path, image: str) -> None:
        """Start pulling ``image`` into the node's CRI namespace (``--prepull-images``)."""
        ...
