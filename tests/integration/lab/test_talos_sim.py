"""The simulated Talos node through the lab Talos adapter over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from appliance_lab.talos_client import LabTalosAdapter
from appliance_lab.talos_sim import TalosSim, TalosSimServer, TalosTimings, validate_machine_config

from appliance_cli.adapters.talos import GenConfigRequest
from appliance_cli.errors import CommandError
from appliance_cli.site import atomic_write

INSTALLER = (
    "factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.12.0"
)


@pytest.fixture
def node() -> Iterator[tuple[TalosSim, LabTalosAdapter]]:
    sim = TalosSim(
        speed=100,
        timings=TalosTimings(install=20, reboot=10, kubernetes_start=5),
        kubeconfig_text="apiVersion: v1\nkind: Config\n",
    )
    server = TalosSimServer(sim).start()
    try:
        yield sim, LabTalosAdapter(server.url)
    finally:
        server.stop()


def _request(**kw: object) -> GenConfigRequest:
    base: dict[str, object] = dict(
        cluster_name="alga-appliance",
        endpoint="https://127.0.0.1:6443",
        node_ip="127.0.0.1",
        talos_version="v1.12.0",
        kubernetes_version="v1.31.4",
        install_disk="/dev/sda",
        installer_image=INSTALLER,
        extra_documents=(
            "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\n",
            "apiVersion: v1alpha1\nkind: ResolverConfig\nnameservers:\n  - address: 1.1.1.1\n",
        ),
    )
    base.update(kw)
    return GenConfigRequest(**base)  # type: ignore[arg-type]


def _wait(pred: object, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_maintenance_mode_lists_the_disk(node: tuple[TalosSim, LabTalosAdapter]) -> None:
    _, talos = node
    info = talos.maintenance_info("127.0.0.1")
    assert info.reachable
    assert [(d.dev_path, d.size_bytes, d.transport) for d in info.disks] == [
        ("/dev/sda", 128_000_000_000, "virtio")
    ]


def test_generated_config_is_schema_valid_and_carries_the_request(
    node: tuple[TalosSim, LabTalosAdapter], tmp_path: Path
) -> None:
    _, talos = node
    gen = talos.gen_config(_request(), tmp_path)
    assert validate_machine_config(gen.controlplane_yaml) == []
    docs = list(yaml.safe_load_all(gen.controlplane_yaml))
    machine = docs[0]["machine"]
    assert machine["type"] == "controlplane"
    assert machine["install"] == {"disk": "/dev/sda", "image": INSTALLER, "wipe": False}
    assert machine["kubelet"]["image"] == "ghcr.io/siderolabs/kubelet:v1.31.4"
    assert [d.get("kind") for d in docs[1:]] == ["HostnameConfig", "ResolverConfig"]
    tc = yaml.safe_load(gen.talosconfig_yaml)
    assert tc["contexts"][tc["context"]]["ca"] == machine["ca"]["crt"]


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ("apiVersion: v1alpha1\nkind: HostnameConfig\nauto: sometimes\n", "HostnameConfig: auto:"),
        (
            "apiVersion: v1alpha1\nkind: ResolverConfig\nnameserverz: []\n",
            "ResolverConfig: (root): Additional properties",
        ),
        (
            "apiVersion: v1alpha1\nkind: NoSuchConfig\n",
            'unknown document type: apiVersion "v1alpha1", kind "NoSuchConfig"',
        ),
    ],
)
def test_invalid_document_is_rejected_with_a_talos_error(
    node: tuple[TalosSim, LabTalosAdapter], tmp_path: Path, document: str, needle: str
) -> None:
    sim, talos = node
    gen = talos.gen_config(_request(extra_documents=(document,)), tmp_path)
    cfg = tmp_path / "controlplane.yaml"
    atomic_write(cfg, gen.controlplane_yaml)
    with pytest.raises(CommandError) as exc:
        talos.apply_config("127.0.0.1", cfg)
    assert (
        "rpc error: code = InvalidArgument desc = configuration validation failed: 1 error occurred:"
        in exc.value.stderr
    )
    assert needle in exc.value.stderr
    assert exc.value.argv[:3] == ["talosctl", "apply-config", "--insecure"]
    assert sim.state == "maintenance"  # nothing changed


def test_missing_install_disk_is_rejected(node: tuple[TalosSim, LabTalosAdapter], tmp_path: Path) -> None:
    _, talos = node
    gen = talos.gen_config(_request(install_disk="/dev/nvme0n1"), tmp_path)
    cfg = tmp_path / "controlplane.yaml"
    atomic_write(cfg, gen.controlplane_yaml)
    with pytest.raises(CommandError, match="specified install disk does not exist"):
        talos.apply_config("127.0.0.1", cfg)


def test_install_reboot_secure_api_bootstrap_once_and_kubeconfig(
    node: tuple[TalosSim, LabTalosAdapter], tmp_path: Path
) -> None:
    sim, talos = node
    gen = talos.gen_config(_request(), tmp_path)
    cfg, tc = tmp_path / "controlplane.yaml", tmp_path / "talosconfig"
    atomic_write(cfg, gen.controlplane_yaml)
    atomic_write(tc, gen.talosconfig_yaml)
    talos.apply_config("127.0.0.1", cfg)
    assert sim.state == "installing"
    assert not talos.maintenance_info("127.0.0.1").reachable
    assert not talos.secure_api_ready("127.0.0.1", tc)
    _wait(lambda: talos.secure_api_ready("127.0.0.1", tc))
    assert sim.state == "running"
    # another talosconfig (another CA) is refused
    other = tmp_path / "other-talosconfig"
    atomic_write(other, talos.gen_config(_request(), tmp_path).talosconfig_yaml)
    assert not talos.secure_api_ready("127.0.0.1", other)
    with pytest.raises(CommandError, match="not bootstrapped"):
        talos.write_kubeconfig("127.0.0.1", tc, tmp_path / "kubeconfig")
    talos.bootstrap_etcd("127.0.0.1", tc)
    talos.bootstrap_etcd("127.0.0.1", tc)  # AlreadyExists is fine
    assert sim.bootstrapped
    out = tmp_path / "kubeconfig"
    talos.write_kubeconfig("127.0.0.1", tc, out)
    assert out.read_text() == "apiVersion: v1\nkind: Config\n"
    assert out.stat().st_mode & 0o777 == 0o600
    _wait(lambda: talos.health("127.0.0.1", tc).healthy)
    talos.pull_image("127.0.0.1", tc, "ghcr.io/nine-minds/alga-psa-ee:979e2079")
    assert sim.pulled_images == ["ghcr.io/nine-minds/alga-psa-ee:979e2079"]


def test_second_bootstrap_answers_already_exists(node: tuple[TalosSim, LabTalosAdapter]) -> None:
    import httpx

    sim, talos = node
    sim.preinstall(sim.ca_b64 or "ca")
    resp = httpx.post(talos.talos_url + "/v1/bootstrap", headers={"X-Talos-CA": sim.ca_b64 or ""})
    assert resp.status_code == 409
    assert resp.json()["error"] == "rpc error: code = AlreadyExists desc = etcd data directory is not empty"


def test_yaml_off_stays_a_string() -> None:
    text = (
        "version: v1alpha1\nmachine: {type: controlplane, ca: {crt: x}}\n"
        "---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\n"
    )
    assert not any("HostnameConfig" in p for p in validate_machine_config(text))
