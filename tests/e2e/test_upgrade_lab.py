"""`appliance upgrade`, `backup` and `restore` end to end against the lab (real HTTP, the lab's
Flux/Helm/kubelet controllers, the lab database over exec, the lab registry)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from appliance_lab.store import RESOURCE_TYPES
from appliance_lab.testing import InstalledLab, LabHandle, running_lab

from appliance_cli.adapters.kube import KubeClient
from tests.cli_runner import Result, invoke
from tests.lab_install import LAB_BOOTSTRAP, installed_once, use_installed

pytestmark = pytest.mark.slow
SPEED = 60.0
TARGET = "1.0-rc5.lab1"
DB = ("msp", "db-0", "db")
ROW = "it''s the customer''s ticket"  # SQL quoting
ROW_TEXT = "it's the customer's ticket"


def _install(handle: LabHandle) -> None:
    """A fresh install at 1.0-rc5 through the CLI, then one row written."""
    r = invoke(
        [
            *LAB_BOOTSTRAP,
            "--bootstrap-mode",
            "fresh",
            "--hostname",
            "alga-lab-1",
            "--dns-servers",
            "10.10.0.53",
            "--progress",
            "plain",
        ]
    )
    assert r.exit_code == 0, r.output
    assert psql(handle, "create table notes (id text, body text)")[2] == 0
    assert psql(handle, f"insert into notes (id, body) values ('1', '{ROW}')")[2] == 0


@pytest.fixture(scope="module")
def _healthy_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledLab]:
    """The healthy scenario installed once for the module (virtual time); each test restores it."""
    with installed_once(
        tmp_path_factory, _install, scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True
    ) as once:
        yield once


@pytest.fixture
def installed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """A lab bootstrapped at 1.0-rc5 (fresh install through the CLI) with one row written. The
    lab and the CLI in this process share a virtual clock unless the test is marked
    ``lab(virtual=False)``. The healthy scenario is installed once per module and restored
    for each test (lab objects, controllers, database, Talos node and site directory); the
    upgrade scenarios, which differ from the install on, are installed per test."""
    marker = request.node.get_closest_marker("lab")
    scenario = marker.kwargs.get("scenario", "healthy") if marker else "healthy"
    virtual = marker.kwargs.get("virtual", True) if marker else True
    if scenario == "healthy" and virtual:
        yield from use_installed(request.getfixturevalue("_healthy_once"), monkeypatch)
        return
    with running_lab(scenario=scenario, speed=SPEED, bootstrapped=False, virtual=virtual) as handle:
        _install(handle)
        yield handle
        errors = list(handle.lab.controllers.errors)
    assert not errors, f"lab controllers raised: {errors}"


def flat(text: str) -> str:
    """Error output is wrapped to the terminal width: compare it as one line."""
    return " ".join(text.split())


def psql(lab: LabHandle, sql: str) -> tuple[str, str, int | None]:
    return KubeClient.from_kubeconfig(lab.kubeconfig).exec(
        *DB, ["psql", "-U", "postgres", "-d", "server", "-tAc", sql]
    )


def notes(lab: LabHandle) -> str:
    out, err, code = psql(lab, "select body from notes")
    assert code == 0, err
    return out


def upgrade(*extra: str, version: str = TARGET) -> Result:
    return invoke(
        ["upgrade", "--site-id", "lab", "--release-version", version, "--progress", "plain", *extra]
    )


def core_images(lab: LabHandle) -> set[str]:
    pods = lab.list_objects("v1/pods", "msp")
    return {
        c["image"]
        for p in pods
        if p["metadata"]["name"].startswith("alga-core-sebastian-")
        and "-bootstrap-" not in p["metadata"]["name"]
        for c in p["spec"]["containers"]
    }


def login_answers(lab: LabHandle) -> int:
    return httpx.get(lab.login_url, follow_redirects=False, timeout=5.0).status_code


def owned_versions(lab: LabHandle) -> dict[str, str]:
    """resourceVersion of every object the CLI applies (field manager appliance-cli)."""
    assert lab.store is not None
    out: dict[str, str] = {}
    for rt in RESOURCE_TYPES:
        pairs, _ = lab.store.snapshot(rt)
        for (ns, name), obj in pairs:
            managers = {m.get("manager") for m in obj.get("metadata", {}).get("managedFields") or []}
            if "appliance-cli" in managers:
                out[f"{rt.key}/{ns}/{name}"] = str(obj["metadata"].get("resourceVersion"))
    return out


def secrets(lab: LabHandle) -> dict[str, Any]:
    return {
        f"{s['metadata']['namespace']}/{s['metadata']['name']}": s.get("data")
        for s in lab.list_objects("v1/secrets")
    }


def site_files(lab: LabHandle) -> dict[str, bytes]:
    return {
        str(p.relative_to(lab.site_dir)): p.read_bytes()
        for p in sorted(lab.site_dir.rglob("*"))
        if p.is_file()
    }


def selection(lab: LabHandle) -> dict[str, str]:
    cm = lab.get("v1/configmaps", "alga-system", "appliance-release-selection")
    assert cm is not None
    return dict(cm["data"])


def history(lab: LabHandle) -> list[dict[str, Any]]:
    journal = json.loads((lab.site_dir / "journal.json").read_text())
    return list(journal["facts"].get("history") or [])


@pytest.mark.lab(scenario="healthy")
def test_upgrade_keeps_the_data_and_logs_in_at_the_new_release(installed: LabHandle) -> None:
    lab = installed
    intent_before = {k: selection(lab)[k] for k in ("appUrl", "applianceRepoUrl", "applianceBranch")}
    secrets_before = secrets(lab)
    coredns_before = lab.get("v1/configmaps", "kube-system", "coredns")
    files_before = {
        k: v
        for k, v in site_files(lab).items()
        if k in ("app-url", "node-ip", "status-token", "controlplane.yaml", "kubeconfig", "talosconfig")
    }

    r = upgrade()
    assert r.exit_code == 0, r.output
    assert f"Upgrade 1.0-rc5 → {TARGET}: succeeded" in r.stdout
    for n, title in enumerate(["Preflight", "Backup", "Core", "Background", "Verify"]):
        assert f"[step {n}/4] {title}: done in" in r.stdout
    assert f"Alga is ready to log in at release {TARGET}: {lab.login_url}" in r.stdout

    # the row is there, login works, the core runs the new image, Helm upgraded (v2)
    assert notes(lab) == f"{ROW_TEXT}\n"
    assert login_answers(lab) == 307
    assert core_images(lab) == {"ghcr.io/nine-minds/alga-psa-ee:lab-upgrade-1"}
    hr = lab.get("helm.toolkit.fluxcd.io/v2/helmreleases", "alga-system", "alga-core")
    assert hr is not None
    assert hr["status"]["history"][0]["status"] == "deployed" and hr["status"]["history"][0]["version"] == 2
    assert "Helm upgrade succeeded for release msp/alga-core.v2" in hr["status"]["conditions"][-1][
        "message"
    ] or any(
        "Helm upgrade succeeded for release msp/alga-core.v2" in c.get("message", "")
        for c in hr["status"]["conditions"]
    )
    assert selection(lab)["releaseVersion"] == TARGET

    # the backup: 0600, its record's digest and size are the file's
    records = sorted((lab.site_dir / "backups").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    dump = lab.site_dir / "backups" / record["file"]
    assert dump.stat().st_mode & 0o777 == 0o600 and records[0].stat().st_mode & 0o777 == 0o600
    import hashlib

    assert record["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert record["sizeBytes"] == dump.stat().st_size and dump.read_bytes().startswith(b"PGDMP")
    assert record["releaseVersion"] == "1.0-rc5"
    assert {o["kind"] for o in record["config"]} == {"ConfigMap", "Kustomization", "HelmRelease"}

    # history: site journal and facts ConfigMap
    entries = history(lab)
    assert entries[0]["kind"] == "upgrade" and entries[0]["result"] == "succeeded"
    assert entries[0]["fromVersion"] == "1.0-rc5" and entries[0]["toVersion"] == TARGET
    assert any(e["kind"] == "backup" for e in entries)
    facts = lab.get("v1/configmaps", "appliance-system", "appliance-facts")
    assert facts is not None
    published = json.loads(facts["data"]["facts.json"])
    assert published["releaseVersion"] == TARGET
    assert published["history"][0]["toVersion"] == TARGET
    assert json.loads((lab.site_dir / "upgrade.json").read_text())["state"] == "succeeded"
    token = (lab.site_dir / "status-token").read_text().strip()

    def on_status_page() -> bool:
        r = httpx.get(
            f"{lab.status_url}/api/diagnostics", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        history = r.json().get("releaseHistory") if r.status_code == 200 else None
        return bool(history) and history[0].get("toVersion") == TARGET

    lab.wait_for(on_status_page, timeout=60, what="the upgrade in the status page's diagnostics")
    shown = invoke(["status", "--site-id", "lab"])
    assert f"Release: {TARGET} (previous: 1.0-rc5)" in shown.stdout
    assert f"Last upgrade: 1.0-rc5 → {TARGET} succeeded" in shown.stdout

    # operator intent survives: app URL, repository, branch, every Secret (status token, the
    # app's generated secrets), CoreDNS upstreams, the site files (hostname and DNS in the
    # machine config, node IP, tokens)
    assert {k: selection(lab)[k] for k in intent_before} == intent_before
    assert secrets(lab) == secrets_before
    coredns_after = lab.get("v1/configmaps", "kube-system", "coredns")
    assert coredns_before is not None and coredns_after is not None
    assert coredns_after["data"] == coredns_before["data"] and "10.10.0.53" in json.dumps(
        coredns_after["data"]
    )
    assert {k: v for k, v in site_files(lab).items() if k in files_before} == files_before
    assert b"alga-lab-1" in files_before["controlplane.yaml"]

    # upgrading to the release already running applies nothing
    owned = owned_versions(lab)
    again = upgrade()
    assert again.exit_code == 0, again.output
    assert f"already at {TARGET}; 0 objects applied" in again.stdout
    assert "Objects applied: 0" in again.stdout
    assert owned_versions(lab) == owned
    assert len(list((lab.site_dir / "backups").glob("*.dump"))) == 1


@pytest.mark.lab(scenario="upgrade-core-crash")
def test_a_crash_looping_core_rolls_back_with_the_data_intact(installed: LabHandle) -> None:
    lab = installed
    r = upgrade()
    assert r.exit_code == 1, r.output
    assert "core gate failed: crash_loop" in r.stdout
    assert f"upgrade to {TARGET} failed: crash_loop" in flat(r.stderr)
    assert "the appliance is on 1.0-rc5 again and login is ready" in flat(r.stderr)
    assert "database restored from the pre-upgrade backup" in flat(r.stderr)
    assert "[step 2/4] Rollback: done in" in r.stdout
    assert "[step 3/4] Background" not in r.stdout  # background is never touched
    assert notes(lab) == f"{ROW_TEXT}\n"
    assert login_answers(lab) == 307
    assert core_images(lab) == {"ghcr.io/nine-minds/alga-psa-ee:a2cbb430"}
    assert selection(lab)["releaseVersion"] == "1.0-rc5"
    journal = json.loads((lab.site_dir / "upgrade.json").read_text())
    assert journal["state"] == "rolled_back"
    assert journal["failure"]["code"] == "crash_loop"
    assert journal["newBootstrapJobs"]  # the new release's bootstrap Job ran: the database was restored
    kinds = [(e["kind"], e["result"]) for e in history(lab)[:2]]
    assert kinds == [("rollback", "succeeded"), ("upgrade", "failed")]
    assert json.loads((lab.site_dir / "journal.json").read_text())["releaseVersion"] == "1.0-rc5"


@pytest.mark.lab(scenario="upgrade-core-tag-missing")
def test_a_missing_core_tag_is_refused_and_nothing_changes(installed: LabHandle) -> None:
    lab = installed
    owned = owned_versions(lab)
    files = site_files(lab)
    r = upgrade()
    assert r.exit_code == 1, r.output
    assert "image_tag_not_found" in flat(r.stderr) and "alga-psa-ee:lab-upgrade-1" in flat(r.stderr)
    assert "nothing was changed" in flat(r.stderr)
    assert "[step 1/4] Backup" not in r.stdout
    assert owned_versions(lab) == owned
    assert site_files(lab) == files  # no backup, no upgrade journal, no lock left
    assert core_images(lab) == {"ghcr.io/nine-minds/alga-psa-ee:a2cbb430"}


@pytest.mark.lab(scenario="upgrade-background-missing")
def test_a_background_failure_after_the_upgrade_is_a_warning_not_a_rollback(installed: LabHandle) -> None:
    lab = installed
    r = upgrade()
    assert r.exit_code == 0, r.output
    assert "email-service:lab-upgrade-1" in r.stdout  # warned by the preflight, and again after
    assert "Rollup: ready_with_background_issues" in r.stdout
    assert "Rollback" not in r.stdout
    assert core_images(lab) == {"ghcr.io/nine-minds/alga-psa-ee:lab-upgrade-1"}
    assert notes(lab) == f"{ROW_TEXT}\n"
    assert history(lab)[0]["result"] == "succeeded"


@pytest.mark.lab(scenario="upgrade-slow-core-pull")
def test_killed_mid_upgrade_it_resumes_to_the_same_end(installed: LabHandle) -> None:
    lab = installed
    assert lab.clock is not None
    realtime = lab.clock.realtime()  # the child's waits poll on the wall clock
    realtime.__enter__()
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance_cli",
            "upgrade",
            "--site-id",
            "lab",
            "--release-version",
            TARGET,
            "--progress",
            "plain",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    journal_file = lab.site_dir / "upgrade.json"

    def core_running() -> bool:
        try:
            data = json.loads(journal_file.read_text())
        except (OSError, ValueError):
            return False
        return bool(data.get("steps", {}).get("core", {}).get("state") == "running")

    try:
        lab.wait_for(core_running, timeout=60, what="the upgrade's core step")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        realtime.__exit__(None, None, None)  # the resumed upgrade in this process: virtual time
    first = json.loads(journal_file.read_text())
    assert first["state"] == "running" and first["backupId"]
    assert (
        json.loads((lab.site_dir / "operation.lock").read_text())["pid"] == proc.pid
    )  # left by the dead run

    r = upgrade()
    assert r.exit_code == 0, r.output
    assert f"resuming the interrupted upgrade 1.0-rc5 → {TARGET}" in r.stdout
    assert f"backup {first['backupId']} from the first run verified" in r.stdout
    done = json.loads(journal_file.read_text())
    assert done["state"] == "succeeded" and done["token"] == first["token"]
    assert len(list((lab.site_dir / "backups").glob("*.dump"))) == 1
    assert core_images(lab) == {"ghcr.io/nine-minds/alga-psa-ee:lab-upgrade-1"}
    assert notes(lab) == f"{ROW_TEXT}\n"
    assert not (lab.site_dir / "operation.lock").exists()


@pytest.mark.lab(scenario="healthy")
def test_dry_run_prints_the_plan_and_changes_nothing(installed: LabHandle) -> None:
    lab = installed
    owned = owned_versions(lab)
    files = site_files(lab)
    r = upgrade("--dry-run")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert f"Upgrade plan 1.0-rc5 → {TARGET} (dry run: nothing was changed" in out
    core = "ghcr.io/nine-minds/alga-psa-ee"
    assert f"image alga-core: {core}:a2cbb430 → {core}:lab-upgrade-1" in out
    assert "apply ConfigMap alga-system/appliance-values-alga-core" in out
    assert "apply ConfigMap alga-system/appliance-release-selection" in out
    assert "pg_dump --username=postgres --format=custom server" in out and "backups/<id>.dump (0600" in out
    assert "request reconcile of HelmRelease alga-system/alga-core" in out
    assert "if the core gate fails: roll back" in out
    assert out.index("[core]") < out.index("[background]")
    assert owned_versions(lab) == owned
    assert site_files(lab) == files


@pytest.mark.lab(scenario="healthy")
def test_a_running_operation_refuses_the_upgrade_naming_its_owner(installed: LabHandle) -> None:
    lab = installed
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {
            "command": "bootstrap",
            "pid": holder.pid,
            "host": socket.gethostname(),
            "startedAt": "2026-12-04T18:00:00Z",
            "procStart": None,
        }
        (lab.site_dir / "operation.lock").write_text(json.dumps(lock))
        owned = owned_versions(lab)
        r = upgrade()
        assert r.exit_code == 1, r.output
        assert f"'appliance bootstrap' (pid {holder.pid}" in flat(r.stderr)
        assert owned_versions(lab) == owned
        assert not (lab.site_dir / "backups").exists()
        assert not (lab.site_dir / "upgrade.json").exists()
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.mark.lab(scenario="healthy")
def test_restore_from_a_backup_brings_back_a_deleted_row(installed: LabHandle) -> None:
    lab = installed
    b = invoke(["backup", "--site-id", "lab", "--json"])
    assert b.exit_code == 0, b.output
    record = json.loads(b.stdout)
    assert record["releaseVersion"] == "1.0-rc5" and record["sizeBytes"] > 0
    listed = invoke(["backup", "list", "--site-id", "lab"])
    assert listed.exit_code == 0 and record["id"] in listed.stdout

    assert psql(lab, "delete from notes where id = '1'")[0] == "DELETE 1\n"
    assert notes(lab) == ""

    refused = invoke(["restore", "--site-id", "lab", "--from", record["id"]])
    assert refused.exit_code == 2 and "--force" in flat(refused.stderr)
    plan = invoke(["restore", "--site-id", "lab", "--from", record["id"], "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "msp/alga-core-sebastian (replicas 1 → 0)" in plan.stdout
    assert notes(lab) == ""

    r = invoke(["restore", "--site-id", "lab", "--from", record["id"], "--force", "--progress", "plain"])
    assert r.exit_code == 0, r.output
    assert notes(lab) == f"{ROW_TEXT}\n"
    assert "7 seed users" in r.output
    assert login_answers(lab) == 307
    assert history(lab)[0]["kind"] == "restore"

    # a changed archive is refused before anything happens
    dump = Path(lab.site_dir / "backups" / record["file"])
    dump.write_bytes(dump.read_bytes() + b"x")
    bad = invoke(["restore", "--site-id", "lab", "--from", record["id"], "--force"])
    assert bad.exit_code == 2 and "does not match its record" in flat(bad.stderr)
