"""The bad-input battery: the real CLI, in a child process, against a site with real files.

Every bad input — a flag, a site file, an environment setting — gets exit 2 and one clear
line that names the flag or the file, no traceback, and nothing changed: the appliance home
(every site file, its bytes and its mode) is the same after the command as before it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.timeout(120)
SITE = "site1"
TOKEN = "a-valid-status-token-0123456789abcdef"
RELEASE = ["--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]
RECOVER = ["bootstrap", "--bootstrap-mode", "recover", *RELEASE, "--site-id", SITE]
COMMAND_TIMEOUT = 60.0
# Runs the CLI where no home directory can be found (HOME unset and no passwd entry).
NO_HOME = (
    "import pwd, runpy\n"
    "def nobody(uid):\n"
    "    raise KeyError(uid)\n"
    "pwd.getpwuid = nobody\n"
    "runpy.run_module('appliance_cli', run_name='__main__', alter_sys=True)\n"
)


def kubeconfig_text(server: str = "https://127.0.0.1:1") -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        }
    )


def make_site(home: Path) -> Path:
    """A bootstrapped-looking site: every file a real one has, valid."""
    site = home / SITE
    site.mkdir(mode=0o700, parents=True)
    files = {
        "kubeconfig": kubeconfig_text(),
        "talosconfig": "context: c\ncontexts:\n  c:\n    endpoints: [127.0.0.1]\n    nodes: [127.0.0.1]\n",
        "status-token": TOKEN + "\n",
        "journal.json": json.dumps({"version": 1, "siteId": SITE, "runs": 1, "phases": {}, "facts": {}}),
        "node-ip": "127.0.0.1\n",
        "app-url": "http://127.0.0.1:3000\n",
    }
    for name, text in files.items():
        (site / name).write_text(text)
        (site / name).chmod(0o600)
    return site


def tree(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every entry under ``root``: type, mode and (for files) bytes."""
    out: dict[str, tuple[str, int, bytes]] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
            out[str(p.relative_to(root))] = (
                kind,
                stat.S_IMODE(st.st_mode),
                p.read_bytes() if kind == "file" else b"",
            )
    out["."] = ("dir", stat.S_IMODE(root.stat().st_mode), b"")
    return out


@dataclass
class Env:
    home: Path
    site: Path
    tmp: Path
    extra_env: dict[str, str | None] = field(default_factory=dict)
    python_c: str | None = None

    def file(self, name: str, data: bytes) -> Path:
        p = self.tmp / name
        p.write_bytes(data)
        return p

    def directory(self, name: str) -> Path:
        p = self.tmp / name
        p.mkdir()
        return p

    def replace_site_file(self, name: str, data: bytes | None) -> Path:
        """The site's file ``name`` becomes ``data`` (``None``: a directory)."""
        p = self.site / name
        p.unlink()
        if data is None:
            p.mkdir(mode=0o700)
        else:
            p.write_bytes(data)
            p.chmod(0o600)
        return p


NOT_UTF8 = b"\xff\xfe\x00not text\xc3"
Prepare = Callable[[Env], tuple[list[str], str]]


def snapshot_with_string_pod_status(env: Env) -> tuple[list[str], str]:
    doc = json.loads((FIXTURES / "snapshots" / "healthy.json").read_text())
    pods = doc["resources"]["v1/pods"]["items"]
    pods[0]["status"] = "Running"
    p = env.file("string-status.json", json.dumps(doc).encode())
    return ["status", "--snapshot", str(p)], str(p)


def deep_snapshot(env: Env) -> tuple[list[str], str]:
    p = env.file("deep.json", b"[" * 100_000 + b"]" * 100_000)
    return ["status", "--snapshot", str(p)], str(p)


def fifo_snapshot(env: Env) -> tuple[list[str], str]:
    p = env.tmp / "fifo"
    os.mkfifo(p)
    return ["status", "--snapshot", str(p)], str(p)


def unusable_kubeconfig(env: Env) -> tuple[list[str], str]:
    p = env.file("no-context.yaml", b"apiVersion: v1\nkind: Config\nclusters: []\n")
    return [*RECOVER, "--kubeconfig", str(p)], "--kubeconfig"


def home_is_a_file(env: Env) -> tuple[list[str], str]:
    env.extra_env["ALGA_APPLIANCE_HOME"] = str(env.file("home-file", b"x\n"))
    return ["status"], "ALGA_APPLIANCE_HOME"


def no_home(env: Env) -> tuple[list[str], str]:
    env.extra_env.update({"HOME": None, "ALGA_APPLIANCE_HOME": None})
    env.python_c = NO_HOME
    return ["status"], "HOME"


def bundle_for_no_site(env: Env) -> tuple[list[str], str]:
    out = env.tmp / "bundles"
    return ["support-bundle", "--site-id", "nosuchsite", "--output", str(out)], "--site-id"


CASES: dict[str, Prepare] = {
    "kubeconfig malformed YAML (site file)": lambda e: (
        ["status", "--site-id", SITE],
        str(e.replace_site_file("kubeconfig", b"apiVersion: v1\nclusters: [\n")),
    ),
    "kubeconfig malformed YAML (--kubeconfig)": lambda e: (
        [*RECOVER, "--kubeconfig", str(e.file("bad.yaml", b"a: [\n  b: {\n"))],
        "--kubeconfig",
    ),
    "kubeconfig malformed YAML (reset)": lambda e: (
        ["reset", "--dry-run", "--site-id", SITE, "--kubeconfig", str(e.file("bad.yaml", b"a: [\n"))],
        str(e.tmp / "bad.yaml"),
    ),
    "journal not UTF-8": lambda e: (RECOVER, str(e.replace_site_file("journal.json", NOT_UTF8))),
    "journal is a directory": lambda e: (RECOVER, str(e.replace_site_file("journal.json", None))),
    "status-token not UTF-8": lambda e: (RECOVER, str(e.replace_site_file("status-token", NOT_UTF8))),
    "status-token is a directory": lambda e: (RECOVER, str(e.replace_site_file("status-token", None))),
    "node-ip not UTF-8": lambda e: (
        ["status", "--site-id", SITE],
        str(e.replace_site_file("node-ip", NOT_UTF8)),
    ),
    "node-ip is a directory": lambda e: (
        ["status", "--site-id", SITE],
        str(e.replace_site_file("node-ip", None)),
    ),
    "app-url not UTF-8": lambda e: (
        ["status", "--site-id", SITE],
        str(e.replace_site_file("app-url", NOT_UTF8)),
    ),
    "app-url is a directory": lambda e: (
        ["status", "--site-id", SITE],
        str(e.replace_site_file("app-url", None)),
    ),
    "--token-file not UTF-8": lambda e: (
        ["serve-status", "--site-id", SITE, "--token-file", str(e.file("token", NOT_UTF8))],
        "--token-file",
    ),
    "--token-file is a directory": lambda e: (
        ["serve-status", "--site-id", SITE, "--token-file", str(e.directory("token-dir"))],
        "--token-file",
    ),
    "--config-dir is a file (bootstrap)": lambda e: (
        ["bootstrap", "--bootstrap-mode", "fresh", *RELEASE, "--config-dir", str(e.file("cfg", b"x"))],
        "--config-dir",
    ),
    "--config-dir is a file (reset)": lambda e: (
        ["reset", "--dry-run", "--config-dir", str(e.file("cfg", b"x"))],
        "--config-dir",
    ),
    "ALGA_APPLIANCE_HOME is a file": home_is_a_file,
    "no home directory (HOME unset)": no_home,
    "--snapshot not UTF-8": lambda e: (
        ["status", "--snapshot", str(e.file("snap.json", NOT_UTF8))],
        str(e.tmp / "snap.json"),
    ),
    "--snapshot 100,000 levels deep": deep_snapshot,
    "--snapshot pod status is a string": snapshot_with_string_pod_status,
    "--snapshot is a FIFO": fifo_snapshot,
    "--output /proc/1": lambda e: (["support-bundle", "--site-id", SITE, "--output", "/proc/1"], "--output"),
    "status --site-id nosuchsite": lambda e: (["status", "--site-id", "nosuchsite"], "--site-id"),
    "support-bundle --site-id nosuchsite": bundle_for_no_site,
    "--talosconfig garbage": lambda e: (
        [
            "bootstrap",
            "--bootstrap-mode",
            "fresh",
            *RELEASE,
            "--site-id",
            "newsite",
            "--talosconfig",
            str(e.file("t", b"garbage\n")),
        ],
        "--talosconfig",
    ),
    "--talosconfig garbage, --progress json": lambda e: (
        [
            "bootstrap",
            "--bootstrap-mode",
            "fresh",
            *RELEASE,
            "--site-id",
            "newsite",
            "--progress",
            "json",
            "--talosconfig",
            str(e.file("t", b"{contexts: 3}\n")),
        ],
        "--talosconfig",
    ),
    "--kubeconfig unusable": unusable_kubeconfig,
}


def run_cli(env: Env, args: list[str]) -> subprocess.CompletedProcess[str]:
    child_env = {**os.environ, "ALGA_APPLIANCE_HOME": str(env.home), "NO_COLOR": "1", "COLUMNS": "200"}
    for key, value in env.extra_env.items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    argv = (
        [sys.executable, "-c", env.python_c, *args]
        if env.python_c
        else [sys.executable, "-m", "appliance_cli", *args]
    )
    return subprocess.run(
        argv, env=child_env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_exit_2_one_line_naming_it_nothing_changed(case: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    env = Env(home=home, site=make_site(home), tmp=work)
    args, named = CASES[case](env)
    before = tree(home)
    r = run_cli(env, args)
    err = " ".join(r.stderr.split())  # the console may wrap a long line
    assert r.returncode == 2, f"exit {r.returncode}\nstdout: {r.stdout[-1500:]}\nstderr: {r.stderr[-1500:]}"
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert named in err, err
    error_lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(error_lines) == 1, r.stderr  # one error (a hint may follow it)
    assert tree(home) == before  # nothing written, renamed, created or chmod-ed
    if "--progress" in args and "json" in args:
        for line in r.stdout.splitlines():
            json.loads(line)  # stdout holds JSON lines only
    if case.startswith("support-bundle"):
        assert not (work / "bundles").exists()


def test_json_progress_prints_only_json_lines_on_stdout(tmp_path: Path) -> None:
    env = Env(home=tmp_path / "home", site=make_site(tmp_path / "home"), tmp=tmp_path)
    before = tree(env.home)
    args = [
        "bootstrap",
        "--bootstrap-mode",
        "fresh",
        *RELEASE,
        "--site-id",
        "fresh-site",
        "--progress",
        "json",
        "--dry-run",
    ]
    r = run_cli(env, args)
    assert r.returncode == 0, r.stderr[-2000:]
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert any("plan" in d for d in docs) and "result" in docs[-1]
    assert docs[-1]["result"]["dryRun"] is True
    assert tree(env.home) == before  # a dry run writes nothing, not even the site directory


def test_site_files_are_private_whatever_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under umask 000 the appliance home and the site directory are 0700 and node-ip,
    app-url and every secret 0600 (the lab brought up, then a real bootstrap against it; both
    in this process, where the umask is set for the test's duration)."""
    from appliance_lab.testing import running_lab

    from tests.cli_runner import invoke

    home = tmp_path / "new" / "home"  # does not exist yet: created by the lab and the CLI
    monkeypatch.setenv("ALGA_APPLIANCE_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    old = os.umask(0)
    try:
        with running_lab(scenario="healthy", speed=60, bootstrapped=False, virtual=True) as lab:
            boot = invoke(["bootstrap", "--bootstrap-mode", "fresh", *RELEASE, "--site-id", "lab"])
            assert lab.lab is not None and not lab.lab.controllers.errors
    finally:
        os.umask(old)
    assert boot.exit_code == 0, boot.stdout[-2000:] + boot.stderr[-2000:]
    site = home / "lab"
    for d in (tmp_path / "new", home, site):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for name in ("node-ip", "app-url", "kubeconfig", "talosconfig", "status-token", "journal.json"):
        assert stat.S_IMODE((site / name).stat().st_mode) == 0o600, name
