"""The wipe Job: its path cannot widen, and its script (run here by a real POSIX sh) empties
exactly the directory it is given, sparing the kept entries, and reports what it did."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance_cli.errors import UsageError
from appliance_cli.reset import wipe

ROOT = "/var/local-path-provisioner"


@pytest.mark.parametrize(
    "path",
    [
        "var/local-path-provisioner",  # relative
        "/var/local-path-provisioner/../../etc",  # climbs out
        "/var/local-path-provisioner/./x",
        "/var//local-path-provisioner",
        "/var/local-path-provisioner/",
        "/var/local-path-provisioner-other",  # a sibling sharing the prefix
        "/var/local-path-provisioner/x;rm -rf /",
        "/var/local-path-provisioner/$(id)",
        "/etc",
    ],
)
def test_a_path_outside_the_root_or_not_plain_is_refused(path: str) -> None:
    with pytest.raises(UsageError):
        wipe.validate_wipe_path(path, ROOT)


@pytest.mark.parametrize("root", ["/", "/var", "/etc/local-path", "/var/../etc", "relative/path"])
def test_a_root_outside_var_is_refused(root: str) -> None:
    with pytest.raises(UsageError):
        wipe.validate_root(root)


def test_the_root_and_directories_under_it_are_accepted() -> None:
    assert wipe.validate_wipe_path(ROOT, ROOT) == ROOT
    assert wipe.validate_wipe_path(f"{ROOT}/pvc-1_msp_db", ROOT) == f"{ROOT}/pvc-1_msp_db"


@pytest.mark.parametrize("name", ["..", ".", "a/b", "", "x y", "$(id)"])
def test_kept_names_must_be_plain(name: str) -> None:
    with pytest.raises(UsageError):
        wipe.wipe_job(ROOT, ROOT, image="busybox:1.36", keep=[name])


def test_the_job_mounts_exactly_the_validated_path_privileged_and_runs_once() -> None:
    job = wipe.wipe_job(ROOT, ROOT, image="busybox:1.36", keep=["pvc-9_other_data"])
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert job["metadata"] == {
        "name": "appliance-reset-wipe",
        "namespace": "local-path-storage",
        "labels": {
            "app.kubernetes.io/name": "appliance-reset-wipe",
            "app.kubernetes.io/managed-by": "appliance-cli",
        },
    }
    assert job["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert pod["volumes"] == [{"name": "data", "hostPath": {"path": ROOT, "type": "DirectoryOrCreate"}}]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/wipe"}]
    assert container["securityContext"] == {"privileged": True}
    assert container["image"] == "busybox:1.36"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"WIPE_DIR": "/wipe", "WIPE_PATH": ROOT, "KEEP": "pvc-9_other_data"}


def test_building_the_job_for_a_path_outside_the_root_fails() -> None:
    with pytest.raises(UsageError):
        wipe.wipe_job("/var/lib", ROOT, image="busybox:1.36", keep=[])


def _run_script(directory: Path, keep: list[str]) -> list[str]:
    sh = shutil.which("sh")
    assert sh is not None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WIPE_DIR": str(directory),
        "WIPE_PATH": ROOT,
        "KEEP": "\n".join(keep),
    }
    out = subprocess.run(
        [sh, "-c", wipe.SCRIPT], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout.splitlines()


def test_the_script_empties_the_directory_sparing_kept_entries_and_symlink_targets(tmp_path: Path) -> None:
    data = tmp_path / "local-path"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("must survive")
    data.mkdir()
    (data / "pvc-1_msp_db-data-db-0" / "pgdata" / "base").mkdir(parents=True)
    (data / "pvc-1_msp_db-data-db-0" / "pgdata" / "base" / "1259").write_text("x")
    (data / "pvc-2_msp_redis-data-redis-0").mkdir()
    (data / ".hidden").write_text("dot file")
    (data / "..double").write_text("double-dot file")
    (data / "link-out").symlink_to(outside)
    (data / "pvc-9_other_data").mkdir()
    (data / "pvc-9_other_data" / "keep.txt").write_text("kept")

    lines = _run_script(data, keep=["pvc-9_other_data"])

    assert sorted(p.name for p in data.iterdir()) == ["pvc-9_other_data"]
    assert (data / "pvc-9_other_data" / "keep.txt").read_text() == "kept"
    assert (outside / "precious").read_text() == "must survive"
    result = wipe.parse_log(lines)
    assert result == wipe.WipeResult(removed=5, remaining=[], found=True)
    assert lines == wipe.log_lines(5, ROOT, [])  # the lab's simulated node prints the same lines


def test_the_script_on_an_empty_directory_is_a_no_op(tmp_path: Path) -> None:
    lines = _run_script(tmp_path, keep=[])
    assert wipe.parse_log(lines) == wipe.WipeResult(removed=0, remaining=[], found=True)


def test_a_failed_removal_fails_the_script(tmp_path: Path) -> None:
    """``set -e``: an entry rm cannot remove (a busy mount) fails the Job, which the reset reports."""
    (tmp_path / "data" / "pvc-1_msp_db").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "rm"  # an rm that fails the way busybox does on a busy mount point
    shim.write_text("#!/bin/sh\necho \"rm: can't remove '$3': Device or resource busy\" >&2\nexit 1\n")
    shim.chmod(0o755)
    sh = shutil.which("sh")
    assert sh is not None
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "WIPE_DIR": str(tmp_path / "data"),
        "WIPE_PATH": ROOT,
        "KEEP": "",
    }
    out = subprocess.run([sh, "-c", wipe.SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "Device or resource busy" in out.stderr
    assert not wipe.parse_log(out.stdout.splitlines()).found
    assert (tmp_path / "data" / "pvc-1_msp_db").is_dir()


def test_parse_log_reads_the_last_report_and_notices_a_missing_one() -> None:
    lines = ["noise", *wipe.log_lines(3, ROOT, ["a", "b"])]
    assert wipe.parse_log(lines) == wipe.WipeResult(removed=3, remaining=["a", "b"], found=True)
    assert wipe.parse_log(["sh: rm: not found"]).found is False


def test_entry_of_names_the_top_level_directory_under_the_root() -> None:
    assert wipe.entry_of(f"{ROOT}/pvc-1_msp_db/sub", ROOT) == "pvc-1_msp_db"
    assert wipe.entry_of("/var/other/pvc-1", ROOT) is None
    assert wipe.entry_of(f"{ROOT}-x/pvc-1", ROOT) is None
