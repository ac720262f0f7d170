"""The built-in kustomize renderer: supported subset, and clear errors outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance_cli import fluxlayout as fl

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _cm(name: str, namespace: str | None = None) -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data: {{a: '1'}}\n"


def test_namespace_and_labels_apply_to_nested_resources_and_skip_cluster_scoped(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "kustomization.yaml", KUSTOMIZATION + "resources: [cm.yaml]\n")
    _write(tmp_path / "sub" / "cm.yaml", _cm("inner", "elsewhere"))
    _write(
        tmp_path / "objs.yaml",
        _cm("outer") + "---\n" + "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRole\nmetadata: {name: reader}\nrules: []\n",
    )
    _write(
        tmp_path / "kustomization.yaml",
        KUSTOMIZATION + "namespace: target\nlabels:\n  - pairs: {tier: x}\nresources: [objs.yaml, sub]\n",
    )
    objs = fl.render_directory(tmp_path)
    assert [fl.object_id(o) for o in objs] == [
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader"),
        ("v1", "ConfigMap", "target", "inner"),
        ("v1", "ConfigMap", "target", "outer"),
    ]
    assert all(o["metadata"]["labels"] == {"tier": "x"} for o in objs)


@pytest.mark.parametrize(
    ("kustomization", "files", "message"),
    [
        ("resources: [missing.yaml]\n", {}, "'missing.yaml' does not exist"),
        ("resources: [a.yaml, b.yaml]\n", {"a.yaml": _cm("same"), "b.yaml": _cm("same")}, "defined twice"),
        ("commonLabels: {a: b}\nresources: []\n", {}, "commonLabels are not supported"),
        ("patches: []\nresources: []\n", {}, "patches are not supported"),
        (
            "resources: [self]\n",
            {"self/kustomization.yaml": KUSTOMIZATION + "resources: [..]\n"},
            "kustomization cycle",
        ),
        (
            "namespace: x\nresources: [ns.yaml]\n",
            {"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"},
            "with a Namespace is not supported",
        ),
        ("labels:\n  - pairs: {a: b}\n    includeSelectors: true\nresources: []\n", {}, "includeSelectors"),
        ("resources: [bad.yaml]\n", {"bad.yaml": "a: [\n"}, "is not valid YAML"),
    ],
)
def test_renderer_refuses_what_it_cannot_render_faithfully(
    tmp_path: Path, kustomization: str, files: dict[str, str], message: str
) -> None:
    _write(tmp_path / "kustomization.yaml", KUSTOMIZATION + kustomization)
    for name, text in files.items():
        _write(tmp_path / name, text)
    with pytest.raises(fl.LayoutError) as exc:
        fl.render_directory(tmp_path)
    assert message in exc.value.message


def test_directory_without_kustomization_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(fl.LayoutError, match=r"has no kustomization\.yaml"):
        fl.render_directory(tmp_path)


def test_output_follows_kustomize_legacy_order() -> None:
    objs = fl.render_directory(fl.base_dir())
    assert [o["kind"] for o in objs] == ["Namespace"] * 3 + ["Kustomization"] * 3 + ["GitRepository"] * 2
    assert [o["metadata"]["name"] for o in objs][3:6] == ["alga-background", "alga-core", "alga-platform"]


def test_layout_directories_cover_the_base_and_each_tier() -> None:
    rel = [str(p.relative_to(fl.base_dir())) for p in fl.layout_directories()]
    assert rel == [".", "background", "core", "flux", "platform"]


def test_namespaces_carry_pod_security_levels() -> None:
    levels = {
        n["metadata"]["name"]: n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for n in fl.namespaces()
    }
    assert levels == {"alga-system": "restricted", "appliance-system": "privileged", "msp": "privileged"}
