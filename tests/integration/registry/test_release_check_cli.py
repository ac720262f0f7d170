"""`appliance release check` against a real loopback registry holding the release's images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from appliance_cli.adapters.registry import auth_env_name
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.integration.registry.conftest import TokenRegistry
from tests.integration.registry.support import RegistryServer, free_port, push_image

pytestmark = pytest.mark.registry

VERSION = "1.0-rc5"
COMPONENTS = ["appliance-status", "alga-core", "email-service", "workflow-worker", "temporal-worker"]
INSTALLER_PATH = "installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"


def write_release(root: Path, host: str, **tag_overrides: str) -> Path:
    """The shipped 1.0-rc5 manifest with every image moved to ``host`` (the loopback registry)."""
    data: dict[str, Any] = json.loads((REPO_ROOT / "releases" / VERSION / "release.json").read_text())
    for key, image in data["images"].items():
        image["repository"] = image["repository"].replace("ghcr.io", host)
        image["tag"] = tag_overrides.get(key, image["tag"])
    data["talos"]["installerImage"] = f"{host}/{INSTALLER_PATH}:v1.12.0"
    (root / VERSION).mkdir(parents=True, exist_ok=True)
    (root / VERSION / "release.json").write_text(json.dumps(data))
    shutil.copy(REPO_ROOT / "releases" / "release.schema.json", root / "release.schema.json")
    return root


@pytest.fixture(scope="module")
def digests(registry: RegistryServer) -> dict[str, str]:
    """Every 1.0-rc5 image except workflow-worker:61e4a00e (the tag that was never published)."""
    data = json.loads((REPO_ROOT / "releases" / VERSION / "release.json").read_text())
    pushed = {}
    for key, image in data["images"].items():
        path = image["repository"].split("/", 1)[1]
        if key != "workflow-worker":
            pushed[key] = push_image(registry.url, path, image["tag"])[0]
    pushed["workflow-worker:good"] = push_image(registry.url, "nine-minds/workflow-worker", "979e2079")[0]
    pushed["talos-installer"] = push_image(registry.url, INSTALLER_PATH, "v1.12.0")[0]
    return pushed


def use_release(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str, **overrides: str) -> None:
    monkeypatch.setenv(
        "ALGA_APPLIANCE_RELEASES_DIR", str(write_release(tmp_path / "releases", host, **overrides))
    )
    monkeypatch.setenv("ALGA_REGISTRY_INSECURE", host)


def test_all_images_present_exits_0_with_a_table_of_digests(
    registry: RegistryServer, digests: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(monkeypatch, tmp_path, registry.host, **{"workflow-worker": "979e2079"})
    result = invoke(["release", "check", VERSION])
    assert result.exit_code == 0, result.output
    for component in COMPONENTS:
        assert component in result.stdout
    assert result.stdout.count("present") == 5
    assert digests["alga-core"][: len("sha256:") + 12] in result.stdout
    assert "All 5 images present" in result.stderr
    assert len(result.output.splitlines()) < 40  # a screenful


def test_missing_background_tag_exits_1_and_says_login_is_not_affected(
    registry: RegistryServer, digests: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(monkeypatch, tmp_path, registry.host)
    result = invoke(["release", "check", VERSION])
    assert result.exit_code == 1, result.output
    err = " ".join(result.stderr.split())
    assert f"Image tag not found: {registry.host}/nine-minds/workflow-worker:61e4a00e" in err
    assert "The install continues and login is not affected" in err
    assert "Next: Publish the missing image tag or update the release manifest." in err
    assert "1 of 5 images missing" in err


def test_missing_core_tag_is_blocking(
    registry: RegistryServer, digests: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(
        monkeypatch, tmp_path, registry.host, **{"alga-core": "deadbeef", "workflow-worker": "979e2079"}
    )
    result = invoke(["release", "check", VERSION])
    assert result.exit_code == 1
    err = " ".join(result.stderr.split())
    assert "error: Image tag not found" in err and "nine-minds/alga-psa-ee:deadbeef" in err
    assert "Bootstrap stops before applying anything" in err
    assert "--skip-image-tag-validation" in err


def test_json_document_for_pipelines(
    registry: RegistryServer, digests: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(monkeypatch, tmp_path, registry.host)
    result = invoke(["release", "check", VERSION, "--json", "--include-installer"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["releaseVersion"] == VERSION
    assert (doc["verdict"], doc["exitCode"]) == ("missing", 1)
    rows = {row["component"]: row for row in doc["images"]}
    assert list(rows) == COMPONENTS  # catalog order
    assert rows["alga-core"] | {"seconds": 0, "attempts": 0} == {
        "key": "alga-core",
        "component": "alga-core",
        "tier": "login",
        "image": f"{registry.host}/nine-minds/alga-psa-ee:a2cbb430",
        "outcome": "present",
        "digest": digests["alga-core"],
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "error": None,
        "attempts": 0,
        "seconds": 0,
    }
    assert rows["workflow-worker"]["outcome"] == "missing"
    assert doc["installer"]["outcome"] == "present"
    assert doc["installer"]["digest"] == digests["talos-installer"]
    [finding] = doc["findings"]
    assert finding["component"] == "workflow-worker"
    assert finding["blocking"] is False
    assert finding["nextAction"] == "Publish the missing image tag or update the release manifest."


def test_unreachable_registry_exits_3_and_says_it_could_not_decide(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(monkeypatch, tmp_path, f"127.0.0.1:{free_port()}")
    result = invoke(["release", "check", VERSION, "--timeout", "2"])
    assert result.exit_code == 3, result.output
    assert result.stdout.count("unreachable") == 5
    assert "missing" not in result.stdout
    assert "Could not decide: nothing is known to be missing" in " ".join(result.stderr.split())


def test_credentials_are_never_printed(
    token_registry: TokenRegistry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host = token_registry.registry.host
    secret = "s3cret-registry-token-value"
    token_registry.tokens.policy.basic = ("robot", "the-right-one")
    use_release(monkeypatch, tmp_path, host)
    monkeypatch.setenv(auth_env_name(host), f"robot:{secret}")
    for args in (
        ["release", "check", VERSION],
        ["release", "check", VERSION, "--json"],
        ["-v", "release", "check", VERSION],
    ):
        result = invoke(args)
        assert result.exit_code == 3, result.output
        assert secret not in result.output
        assert "unauthorized" in result.stdout
    assert {r.username for r in token_registry.tokens.policy.requests} == {"robot"}


def test_malformed_credentials_exit_2_naming_the_variable_not_the_value(
    registry: RegistryServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_release(monkeypatch, tmp_path, registry.host)
    monkeypatch.setenv("ALGA_REGISTRY_AUTH_GHCR_IO", "tokenwithoutuser")
    result = invoke(["release", "check", VERSION])
    assert result.exit_code == 2
    assert "ALGA_REGISTRY_AUTH_GHCR_IO" in result.stderr
    assert "tokenwithoutuser" not in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["release", "check", "9.9"], "VERSION: unknown release '9.9'"),
        (["release", "check", VERSION, "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_input_exits_2(args: list[str], fragment: str) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    assert fragment in result.output


def test_shipped_release_checked_through_a_mirror_env(
    registry: RegistryServer, digests: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unmodified releases/1.0-rc5 manifest, its ghcr.io images served by the loopback registry."""
    monkeypatch.setenv("ALGA_REGISTRY_MIRRORS", f"ghcr.io={registry.host}")
    monkeypatch.setenv("ALGA_REGISTRY_INSECURE", registry.host)
    result = invoke(["release", "check", VERSION, "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    outcomes = {row["component"]: row["outcome"] for row in doc["images"]}
    assert outcomes == {c: "missing" if c == "workflow-worker" else "present" for c in COMPONENTS}
    assert {row["image"].split("/")[0] for row in doc["images"]} == {"ghcr.io"}
