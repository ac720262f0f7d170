"""Talos machine-config documents for the appliance node, built as data and schema-checked.

- the control-plane patch for ``talosctl gen config --config-patch-control-plane``:
  ``cluster.allowSchedulingOnControlPlanes: true`` (single node) and
  ``machine.features.hostDNS`` from the release;
- extra documents appended to the generated config: ``HostnameConfig`` (``--hostname``),
  ``DHCPv4Config`` (dhcp with ``--interface``) or ``LinkConfig`` with the static address and
  a default route via the gateway (static), ``ResolverConfig`` (``--dns-servers``) and
  ``TimeSyncConfig``.

Every document is validated against the Talos schema
(``<repo>/schemas/talos/config.schema.json``, or ``$ALGA_APPLIANCE_SCHEMAS_DIR/talos/``)
before anything is applied. YAML is emitted by PyYAML, which quotes ``off``/``on``/``yes``/``no``
strings so YAML 1.1 readers never turn them into booleans.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from appliance_cli.errors import ApplianceError
from appliance_cli.paths import REPO_ROOT

if TYPE_CHECKING:
    from appliance_cli.bootstrap.options import BootstrapOptions
    from appliance_cli.releases import Release

Doc = dict[str, Any]
CONFIG_API = "v1alpha1"
LOCAL_PATH_DIR = "/var/local-path-provisioner"


class MachineConfigError(ApplianceError):
    """A generated document does not match the Talos schema (a bug: nothing was applied)."""


def schema_path() -> Path:
    override = os.environ.get("ALGA_APPLIANCE_SCHEMAS_DIR")
    base = Path(override) if override else REPO_ROOT / "schemas"
    return base / "talos" / "config.schema.json"


@lru_cache(maxsize=2)
def _schema(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MachineConfigError(
            f"cannot read the Talos config schema {path}: {exc}",
            hint="set ALGA_APPLIANCE_SCHEMAS_DIR to the directory holding talos/config.schema.json",
        ) from None
    return loaded


def _def_for(doc: Doc) -> str:
    if "kind" not in doc and doc.get("version") == CONFIG_API:
        return "v1alpha1.Config"
    kind = str(doc.get("kind", ""))
    schema = _schema(schema_path())
    for name in schema["$defs"]:
        if name.endswith(f".{kind}V1Alpha1"):
            return str(name)
    raise MachineConfigError(f"document kind {kind!r} is not in the Talos schema")


def validate_document(doc: Doc) -> None:
    """Validate one document against its ``$defs`` entry in the Talos schema."""
    import jsonschema

    schema = _schema(schema_path())
    sub = {"$ref": f"#/$defs/{_def_for(doc)}", "$defs": schema["$defs"]}
    validator = jsonschema.Draft7Validator(sub)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(document)"
        raise MachineConfigError(f"{doc.get('kind', 'v1alpha1 config')}: {where}: {first.message}")


def control_plane_patch(release: Release) -> Doc:
    dns = release.talos.host_dns
    return {
        "cluster": {"allowSchedulingOnControlPlanes": True},
        "machine": {
            # local-path volumes live here; the kubelet runs in a container and must see them
            "kubelet": {
                "extraMounts": [
                    {
                        "destination": LOCAL_PATH_DIR,
                        "type": "bind",
                        "source": LOCAL_PATH_DIR,
                        "options": ["bind", "rshared", "rw"],
                    }
                ]
            },
            "features": {
                "hostDNS": {
                    "enabled": dns.enabled,
                    "forwardKubeDNSToHost": dns.forward_kube_dns_to_host,
                    "resolveMemberNames": dns.resolve_member_names,
                }
            },
        },
    }


def hostname_config(hostname: str) -> Doc:
    return {"apiVersion": CONFIG_API, "kind": "HostnameConfig", "auto": "off", "hostname": hostname}


def dhcp_config(interface: str) -> Doc:
    return {"apiVersion": CONFIG_API, "kind": "DHCPv4Config", "name": interface}


def static_link_config(interface: str, address: str, gateway: str) -> Doc:
    # No destination: Talos makes it the default route of the gateway's address family.
    ipaddress.ip_address(gateway)
    return {
        "apiVersion": CONFIG_API,
        "kind": "LinkConfig",
        "name": interface,
        "up": True,
        "addresses": [{"address": address}],
        "routes": [{"gateway": gateway}],
    }


def resolver_config(servers: tuple[str, ...]) -> Doc:
    return {
        "apiVersion": CONFIG_API,
        "kind": "ResolverConfig",
        "nameservers": [{"address": s} for s in servers],
    }


def time_sync_config(servers: tuple[str, ...] = ("time.cloudflare.com",)) -> Doc:
    return {
        "apiVersion": CONFIG_API,
        "kind": "TimeSyncConfig",
        "enabled": True,
        "ntp": {"servers": list(servers)},
    }


@dataclass(frozen=True)
class MachineDocuments:
    patch: Doc
    extra: tuple[Doc, ...]

    @property
    def patch_yaml(self) -> str:
        return dump([self.patch])

    @property
    def extra_yaml(self) -> tuple[str, ...]:
        return tuple(dump([d]) for d in self.extra)

    def kinds(self) -> list[str]:
        return [str(d["kind"]) for d in self.extra]


def build(options: BootstrapOptions, release: Release) -> MachineDocuments:
    """All documents for this node, validated against the schema."""
    extra: list[Doc] = []
    if options.hostname:
        extra.append(hostname_config(options.hostname))
    if options.network_mode == "static":
        assert (
            options.interface and options.static_address and options.static_gateway
        )  # checked at the boundary
        extra.append(static_link_config(options.interface, options.static_address, options.static_gateway))
    elif options.interface:
        extra.append(dhcp_config(options.interface))
    if options.dns_servers:
        extra.append(resolver_config(options.dns_servers))
    extra.append(time_sync_config())
    patch = control_plane_patch(release)
    validate_patch(patch)
    for doc in extra:
        validate_document(doc)
    return MachineDocuments(patch=patch, extra=tuple(extra))


def validate_patch(patch: Doc) -> None:
    """A strategic-merge patch of the v1alpha1 config: validate it as a (partial) config."""
    validate_document({"version": CONFIG_API, **patch})


def dump(docs: list[Doc]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, explicit_start=False)
