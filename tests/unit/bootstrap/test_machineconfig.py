"""Talos documents: valid against the committed Talos schema, with the right kinds and fields."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from appliance_cli.bootstrap import machineconfig as mc
from appliance_cli.bootstrap.options import build_options
from appliance_cli.releases import load_release

BASE: dict[str, Any] = {"bootstrap_mode": "fresh", "release_version": "1.0-rc5", "node_ip": "192.168.64.8"}


def docs(**over: Any) -> mc.MachineDocuments:
    return mc.build(build_options(**{**BASE, **over}), load_release("1.0-rc5"))


def test_schema_is_found_next_to_the_repository() -> None:
    assert mc.schema_path().is_file()


@pytest.mark.parametrize(
    ("over", "kinds"),
    [
        ({}, ["TimeSyncConfig"]),
        ({"hostname": "alga-node"}, ["HostnameConfig", "TimeSyncConfig"]),
        ({"interface": "eth0"}, ["DHCPv4Config", "TimeSyncConfig"]),
        (
            {
                "network_mode": "static",
                "interface": "eth0",
                "static_address": "192.168.64.8/24",
                "static_gateway": "192.168.64.1",
                "dns_servers": "1.1.1.1,9.9.9.9",
                "hostname": "alga",
            },
            ["HostnameConfig", "LinkConfig", "ResolverConfig", "TimeSyncConfig"],
        ),
    ],
)
def test_documents_for_each_network_shape_are_schema_valid(over: dict[str, Any], kinds: list[str]) -> None:
    d = docs(**over)
    assert d.kinds() == kinds
    for doc in d.extra:
        mc.validate_document(doc)  # does not raise


def test_static_link_has_address_and_default_route_via_gateway() -> None:
    d = docs(
        network_mode="static",
        interface="eth0",
        static_address="192.168.64.8/24",
        static_gateway="192.168.64.1",
    )
    link = next(x for x in d.extra if x["kind"] == "LinkConfig")
    assert link["name"] == "eth0"
    assert link["addresses"] == [{"address": "192.168.64.8/24"}]
    assert link["routes"] == [{"gateway": "192.168.64.1"}]


def test_resolver_lists_the_dns_servers_in_order() -> None:
    d = docs(dns_servers="9.9.9.9,1.1.1.1")
    res = next(x for x in d.extra if x["kind"] == "ResolverConfig")
    assert res["nameservers"] == [{"address": "9.9.9.9"}, {"address": "1.1.1.1"}]


def test_control_plane_patch_schedules_on_the_control_plane_with_release_host_dns() -> None:
    patch = docs().patch
    assert patch["cluster"]["allowSchedulingOnControlPlanes"] is True
    host_dns = patch["machine"]["features"]["hostDNS"]
    assert host_dns == {"enabled": True, "forwardKubeDNSToHost": False, "resolveMemberNames": True}
    assert patch["machine"]["kubelet"]["extraMounts"][0]["destination"] == "/var/local-path-provisioner"


def test_hostname_auto_off_stays_a_string_in_yaml() -> None:
    text = docs(hostname="alga").extra_yaml[0]
    assert "auto: 'off'" in text
    assert yaml.safe_load(text)["auto"] == "off"


@pytest.mark.parametrize(
    "bad",
    [
        {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "auto": "maybe"},
        {"apiVersion": "v1alpha1", "kind": "ResolverConfig", "nameservers": [{"addr": "1.1.1.1"}]},
        {
            "apiVersion": "v1alpha1",
            "kind": "LinkConfig",
            "name": "eth0",
            "addresses": [{"address": "10.0.0.5"}],
        },
        {"apiVersion": "v1alpha1", "kind": "NoSuchConfig"},
        {"version": "v1alpha1", "cluster": {"allowSchedulingOnControlPlanes": "yes"}},
    ],
)
def test_invalid_documents_are_refused_before_anything_is_applied(bad: dict[str, Any]) -> None:
    with pytest.raises(mc.MachineConfigError):
        mc.validate_document(bad)


def test_schema_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("ALGA_APPLIANCE_SCHEMAS_DIR", str(tmp_path))
    assert mc.schema_path() == tmp_path / "talos" / "config.schema.json"
    with pytest.raises(mc.MachineConfigError, match="cannot read the Talos config schema") as exc:
        mc.validate_document({"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "x"})
    assert "ALGA_APPLIANCE_SCHEMAS_DIR" in (exc.value.hint or "")
