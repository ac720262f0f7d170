"""``BootstrapOptions``: every ``appliance bootstrap`` flag, validated once at the boundary.

The CLI builds this model; a ``ValidationError`` becomes one ``UsageError`` naming the flag
(exit 2) before anything is touched. Everything past the boundary trusts these values.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance_cli.errors import UsageError
from appliance_cli.site import DEFAULT_SITE_ID, SITE_ID_RE

BootstrapMode = Literal["fresh", "recover"]
NetworkMode = Literal["dhcp", "static"]
ProgressMode = Literal["rich", "plain", "json"]

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
INTERFACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
BRANCH_RE = re.compile(r"^(?!/)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<!/)(?<!\.lock)$")

# pydantic field name -> the flag the user typed
FLAGS: dict[str, str] = {
    "bootstrap_mode": "--bootstrap-mode",
    "release_version": "--release-version",
    "node_ip": "--node-ip",
    "hostname": "--hostname",
    "app_url": "--app-url",
    "interface": "--interface",
    "network_mode": "--network-mode",
    "static_address": "--static-address",
    "static_gateway": "--static-gateway",
    "dns_servers": "--dns-servers",
    "install_disk": "--install-disk",
    "repo_url": "--repo-url",
    "branch_override": "--branch-override",
    "require_remote_branch": "--require-remote-branch",
    "kubeconfig": "--kubeconfig",
    "talosconfig": "--talosconfig",
    "site_id": "--site-id",
    "config_dir": "--config-dir",
    "skip_image_tag_validation": "--skip-image-tag-validation",
    "prepull_images": "--prepull-images",
    "dry_run": "--dry-run",
    "force": "--force",
    "progress": "--progress",
}


class _FlagError(ValueError):
    """A cross-field problem that names its own flag."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    return value.rstrip("/")


def _readable(path: Path) -> Path:
    p = path.expanduser()
    if not p.is_file():
        raise ValueError(f"{p} does not exist or is not a file")
    try:
        with p.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ValueError(f"{p} is not readable ({exc.strerror})") from None
    return p


def _yaml_mapping(p: Path, what: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{p} is not a {what} (not UTF-8 text)") from None
    except yaml.YAMLError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{p} is not a {what} (not valid YAML: {first})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{p} is not a {what} (not a YAML mapping)")
    return doc


def _usable_kubeconfig(p: Path) -> Path:
    """A kubeconfig the Kubernetes client can load (server, credentials): checked before any
    phase starts, so an unusable one never turns into a long wait."""
    _yaml_mapping(p, "kubeconfig")
    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.errors import UsageError

    try:
        KubeClient.from_kubeconfig(p).close()
    except UsageError as exc:
        raise ValueError(exc.message.removeprefix(f"{p}: ")) from None
    return p


def _usable_talosconfig(p: Path) -> Path:
    """A talosconfig: ``context`` naming one of its ``contexts``, which has ``endpoints``."""
    doc = _yaml_mapping(p, "talosconfig")
    contexts = doc.get("contexts")
    if not isinstance(contexts, dict) or not contexts:
        raise ValueError(f"{p} is not a talosconfig (no contexts)")
    current = doc.get("context")
    ctx = contexts.get(current) if isinstance(current, str) else None
    if not isinstance(ctx, dict):
        raise ValueError(
            f"{p} is not a usable talosconfig (its context {current!r} is not among its contexts)"
        )
    if not ctx.get("endpoints"):
        raise ValueError(f"{p} is not a usable talosconfig (context {current!r} has no endpoints)")
    return p


class BootstrapOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_mode: BootstrapMode
    release_version: str = Field(min_length=1)
    node_ip: str
    hostname: str | None = None
    app_url: str | None = None
    interface: str | None = None
    network_mode: NetworkMode = "dhcp"
    static_address: str | None = None
    static_gateway: str | None = None
    dns_servers: tuple[str, ...] = ()
    install_disk: str | None = None
    repo_url: str | None = None
    branch_override: str | None = None
    require_remote_branch: bool = False
    kubeconfig: Path | None = None
    talosconfig: Path | None = None
    site_id: str = DEFAULT_SITE_ID
    config_dir: Path | None = None
    skip_image_tag_validation: bool = False
    prepull_images: bool = False
    dry_run: bool = False
    force: bool = False
    progress: ProgressMode | None = None

    @field_validator("node_ip", "static_gateway")
    @classmethod
    def _check_ip(cls, v: str | None) -> str | None:
        return None if v is None else _ip(v)

    @field_validator("dns_servers", mode="before")
    @classmethod
    def _split_dns(cls, v: object) -> object:
        if isinstance(v, str):
            v = [s for s in (p.strip() for p in v.split(",")) if s]
        return v

    @field_validator("dns_servers")
    @classmethod
    def _check_dns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_ip(s) for s in v)

    @field_validator("static_address")
    @classmethod
    def _check_cidr(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if "/" not in v:
            raise ValueError(f"{v!r} is not an address with a prefix length (e.g. 192.168.1.20/24)")
        try:
            iface = ipaddress.ip_interface(v.strip())
        except ValueError:
            raise ValueError(f"{v!r} is not an address in CIDR form (e.g. 192.168.1.20/24)") from None
        return str(iface)

    @field_validator("hostname")
    @classmethod
    def _check_hostname(cls, v: str | None) -> str | None:
        if v is not None and not HOSTNAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid hostname (lowercase letters, digits, '-' and '.')")
        return v

    @field_validator("interface")
    @classmethod
    def _check_interface(cls, v: str | None) -> str | None:
        if v is not None and not INTERFACE_RE.match(v):
            raise ValueError(f"{v!r} is not a network interface name")
        return v

    @field_validator("install_disk")
    @classmethod
    def _check_disk(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^/dev/[A-Za-z0-9/_.-]+$", v):
            raise ValueError(f"{v!r} is not a device path like /dev/sda or /dev/nvme0n1")
        return v

    @field_validator("app_url")
    @classmethod
    def _check_app_url(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v)

    @field_validator("repo_url")
    @classmethod
    def _check_repo_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = urlsplit(v)
        if parts.scheme in ("http", "https", "ssh", "file") and (parts.hostname or parts.scheme == "file"):
            return v
        raise ValueError(f"{v!r} is not a Git URL (https://, ssh:// or file://)")

    @field_validator("branch_override")
    @classmethod
    def _check_branch(cls, v: str | None) -> str | None:
        if v is not None and v != "current" and not BRANCH_RE.match(v):
            raise ValueError(f"{v!r} is not a valid branch name")
        return v

    @field_validator("kubeconfig")
    @classmethod
    def _check_kubeconfig(cls, v: Path | None) -> Path | None:
        return None if v is None else _usable_kubeconfig(_readable(v))

    @field_validator("talosconfig")
    @classmethod
    def _check_talosconfig(cls, v: Path | None) -> Path | None:
        return None if v is None else _usable_talosconfig(_readable(v))

    @field_validator("site_id")
    @classmethod
    def _check_site_id(cls, v: str) -> str:
        if not SITE_ID_RE.match(v):
            raise ValueError(f"{v!r} is not a valid site id (lowercase letters, digits and '-', at most 63)")
        return v

    @model_validator(mode="after")
    def _combinations(self) -> BootstrapOptions:
        if self.network_mode == "static":
            if not self.static_address:
                raise _FlagError("--static-address", "--network-mode static needs --static-address CIDR")
            if not self.static_gateway:
                raise _FlagError("--static-gateway", "--network-mode static needs --static-gateway IP")
            if not self.interface:
                raise _FlagError("--interface", "--network-mode static needs --interface (e.g. eth0)")
        elif self.static_address or self.static_gateway:
            flag = "--static-address" if self.static_address else "--static-gateway"
            raise _FlagError(flag, "only applies with --network-mode static")
        if self.static_address and self.static_gateway:
            net = ipaddress.ip_interface(self.static_address).network
            if ipaddress.ip_address(self.static_gateway) not in net:
                raise _FlagError("--static-gateway", f"{self.static_gateway} is not inside {net}")
        if self.force and self.bootstrap_mode != "fresh":
            raise _FlagError(
                "--force", "only applies with --bootstrap-mode fresh (recover never deletes data)"
            )
        if self.require_remote_branch and not self.branch_override:
            raise _FlagError("--require-remote-branch", "needs --branch-override BRANCH|current")
        return self


def build_options(**values: object) -> BootstrapOptions:
    """Validate flags; turn the first problem into a ``UsageError`` naming its flag."""
    try:
        return BootstrapOptions.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        ctx_error = (first.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FlagError):
            raise UsageError(str(ctx_error), param=ctx_error.flag) from None
        loc = first.get("loc") or ()
        field = str(loc[0]) if loc else ""
        flag = FLAGS.get(field)
        msg = str(first.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        raise UsageError(msg, param=flag) from None
