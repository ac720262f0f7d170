"""Recording stand-in executables for ``talosctl`` and ``flux`` put first on PATH.

Each call appends its argv (JSON) to ``$STANDIN_RECORD`` and answers like the real tool for
the commands bootstrap uses; ``$STANDIN_FAIL`` (a subcommand name) makes that one fail.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

TALOSCTL = r"""
import json, os, sys
from pathlib import Path
argv = sys.argv[1:]
with open(os.environ["STANDIN_RECORD"], "a") as fh:
    fh.write(json.dumps(["talosctl", *argv]) + "\n")
fail = os.environ.get("STANDIN_FAIL", "")
if argv and argv[0] == fail:
    sys.stderr.write(os.environ.get("STANDIN_FAIL_MESSAGE", "rpc error: code = Unavailable") + "\n")
    sys.exit(1)
if argv[:2] == ["get", "disks"]:
    for dev, size, ro, cd in (("sda", 256060514304, False, False), ("sdb", 8589934592, False, False),
                              ("sr0", 1073741824, True, True)):
        print(json.dumps({"node": "", "metadata": {"namespace": "runtime", "type": "Disks.block.talos.dev",
              "id": dev, "version": 1, "phase": "running"},
              "spec": {"dev_path": "/dev/" + dev, "size": size, "model": "QEMU HARDDISK", "transport": "sata",
                       "readonly": ro, "cdrom": cd}}, indent=4))
elif argv[:2] == ["gen", "config"]:
    out = Path(argv[argv.index("--output") + 1])
    out.mkdir(parents=True, exist_ok=True)
    patch = Path(argv[argv.index("--config-patch-control-plane") + 1].lstrip("@")).read_text()
    (out / "controlplane.yaml").write_text("version: v1alpha1\nmachine:\n  type: controlplane\n# patch:\n# " +
                                          patch.replace("\n", "\n# ") + "\n")
    (out / "talosconfig").write_text("context: " + argv[2] + "\ncontexts: {}\n")
elif argv and argv[0] == "kubeconfig":
    Path(argv[1]).write_text("apiVersion: v1\nkind: Config\n")
elif argv and argv[0] == "version":
    print("Client:\n\tTag: v1.12.0\nServer:\n\tTag: v1.12.0")
"""

FLUX = r"""
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["STANDIN_RECORD"], "a") as fh:
    fh.write(json.dumps(["flux", *argv]) + "\n")
if argv == ["--version"]:
    print("flux version " + os.environ.get("STANDIN_FLUX_VERSION", "2.4.0"))
elif argv[:2] == ["install", "--export"]:
    print("---\n# Flux version: v2.4.0\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n"
          "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: source-controller\n"
          "  namespace: flux-system\nspec:\n  replicas: 1\n")
"""


def install(bin_dir: Path, record: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in (("talosctl", TALOSCTL), ("flux", FLUX)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    record.touch()
    os.environ["STANDIN_RECORD"] = str(record)


def calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
