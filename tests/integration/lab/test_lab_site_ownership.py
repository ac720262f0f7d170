"""The lab only touches sites it created: `lab up` refuses a real site (exit 2, nothing
changed) and `lab down` never deletes a real site's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from appliance_lab.ownership import MARKER
from appliance_lab.target import pid_alive
from appliance_lab.testing import running_lab

from appliance_cli.site import appliance_home
from tests.cli_runner import invoke

REAL_FILES = {
    "journal.json": '{"phases": {}}\n',
    "status-token": "a-real-status-token-0123456789\n",
    "kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\n",
    "talosconfig": "context: real\ncontexts: {}\n",
}


def real_site(name: str, files: dict[str, str]) -> Path:
    site = appliance_home() / name
    site.mkdir(parents=True, mode=0o700)
    for fname, text in files.items():
        (site / fname).write_text(text)
        (site / fname).chmod(0o600)
    return site


def contents(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(site.iterdir())}


@pytest.mark.parametrize("fname", sorted(REAL_FILES))
def test_lab_up_refuses_a_site_it_did_not_create(fname: str) -> None:
    site = real_site("prod", {fname: REAL_FILES[fname]})
    before = contents(site)
    r = invoke(["lab", "up", "--site-id", "prod", "--speed", "50"])
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())  # the console wraps long lines
    assert "--site-id" in err and "not created by the lab" in err and fname in err
    assert "Traceback" not in r.output
    assert contents(site) == before  # no kubeconfig, talosconfig, lab.json or log written


def test_lab_down_deletes_nothing_of_a_real_site() -> None:
    site = real_site("prod", REAL_FILES)
    before = contents(site)
    r = invoke(["lab", "down", "--site-id", "prod"])
    assert r.exit_code == 2, r.output
    err = " ".join(r.stderr.split())
    assert "--site-id" in err and "nothing was stopped or deleted" in err
    assert contents(site) == before


def test_an_in_process_lab_refuses_a_real_site_too() -> None:
    site = real_site("prod", {"journal.json": REAL_FILES["journal.json"]})
    before = contents(site)
    with pytest.raises(Exception, match="not created by the lab"), running_lab(site_id="prod"):
        pass
    assert contents(site) == before


def test_a_lab_site_is_marked_reused_and_removed_by_down() -> None:
    up = invoke(["lab", "up", "--site-id", "mine", "--speed", "50", "--bootstrapped"])
    site = appliance_home() / "mine"
    assert up.exit_code == 0, up.output
    pid = int(json.loads((site / "lab.json").read_text())["pid"])
    try:
        assert (site / MARKER).stat().st_mode & 0o777 == 0o600
        (site / "status-token").write_text("written-by-a-bootstrap-against-the-lab\n")  # still the lab's site
    finally:
        down = invoke(["lab", "down", "--site-id", "mine"])
    assert down.exit_code == 0, down.output
    assert not pid_alive(pid)
    assert not site.exists()
    again = invoke(["lab", "up", "--site-id", "mine", "--speed", "50", "--bootstrapped"])
    try:
        assert again.exit_code == 0, again.output  # an empty or missing directory is claimed
    finally:
        assert invoke(["lab", "down", "--site-id", "mine"]).exit_code == 0
