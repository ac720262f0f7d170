"""Phase 0 — Talos host: maintenance API, disk, machine config, apply, secure API, etcd,
kubeconfig, node Ready."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from appliance_cli.adapters import talosctl as cmd
from appliance_cli.adapters.talos import Disk, GenConfigRequest
from appliance_cli.bootstrap import machineconfig
from appliance_cli.bootstrap.kubeops import node_ready
from appliance_cli.bootstrap.phases.base import PhaseBase
from appliance_cli.bootstrap.waits import Seen, wait_until
from appliance_cli.errors import ApplianceError, PhaseError

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext

SECURE_API_BOUND = 600.0
NODE_READY_BOUND = 900.0
PLACEHOLDER_DISK = "<install disk chosen from the maintenance API>"


def choose_disk(disks: tuple[Disk, ...], wanted: str | None) -> str:
    usable = [d for d in disks if not d.readonly]
    if wanted:
        if disks and wanted not in {d.dev_path for d in disks}:
            found = ", ".join(d.dev_path for d in disks) or "none"
            raise PhaseError("Talos host", f"--install-disk {wanted} is not on the node (disks: {found})")
        return wanted
    if not usable:
        raise PhaseError(
            "Talos host", "the node reports no writable disk", hint="pass --install-disk /dev/..."
        )
    return max(usable, key=lambda d: d.size_bytes).dev_path


class TalosHost(PhaseBase):
    number = 0
    title = "Talos host"

    def should_run(self, ctx: BootstrapContext) -> bool:
        # An installed cluster (explicit kubeconfig, or the site's) whose node is Ready: verify only.
        if not ctx.kubeconfig_path.is_file():
            return True
        try:
            return not node_ready(ctx).done
        except ApplianceError:
            return True

    def run(self, ctx: BootstrapContext) -> None:
        o, a = ctx.options, ctx.actions
        talos = ctx.talos()
        talosconfig = ctx.talosconfig_path
        a.write_file(ctx.site.path("node-ip"), o.node_ip + "\n", mode=0o600)
        a.write_file(ctx.site.path("app-url"), ctx.login_url + "\n", mode=0o600)

        with ctx.step("maintenance API", node=o.node_ip):
            a.command(cmd.argv_get_disks(o.node_ip), lambda: None, default=None)
            info = talos.maintenance_info(o.node_ip) if not a.dry_run else None
        configured = False
        if info is not None and not info.reachable:
            applied_before = bool(ctx.journal.fact("machineConfigApplied"))
            if talosconfig.is_file() and talos.secure_api_ready(o.node_ip, talosconfig):
                configured = True  # the node already runs its config: resume at etcd bootstrap
                ctx.report("node already configured: secure API answers", "info")
            elif talosconfig.is_file() and applied_before:
                configured = True  # applied by an earlier run: the node is installing/rebooting
                ctx.report("machine config applied earlier: waiting for the node to come back", "info")
            else:
                raise PhaseError(
                    self.title,
                    f"the Talos maintenance API at {o.node_ip}:50000 did not answer ({info.error})",
                    hint="boot the node from the Talos ISO and check --node-ip",
                )
        if not configured:
            self._configure(ctx, info.disks if info else ())

        a.wait(
            "the Talos secure API",
            SECURE_API_BOUND,
            lambda: wait_until(
                ctx,
                "Talos secure API",
                lambda: Seen(talos.secure_api_ready(o.node_ip, talosconfig), "talosctl version"),
                bound_seconds=SECURE_API_BOUND,
                interval=3.0,
                classify=False,
                stop=ctx.state.stop,
            ),
            default=None,
        )
        with ctx.step("bootstrap etcd"):
            a.command(
                cmd.argv_bootstrap(o.node_ip, talosconfig),
                lambda: talos.bootstrap_etcd(o.node_ip, talosconfig),
                default=None,
            )
        if o.kubeconfig is None:
            with ctx.step("kubeconfig"):
                out = ctx.site.kubeconfig
                a.command(
                    cmd.argv_kubeconfig(o.node_ip, talosconfig, out),
                    lambda: talos.write_kubeconfig(o.node_ip, talosconfig, out),
                    default=None,
                )
                ctx.forget_kube()
        else:
            ctx.report(f"reusing --kubeconfig {o.kubeconfig} (never overwritten)", "info")
        a.wait(
            "the node to be Ready",
            NODE_READY_BOUND,
            lambda: wait_until(
                ctx,
                "node Ready",
                lambda: node_ready(ctx),
                bound_seconds=NODE_READY_BOUND,
                interval=2.0,
                classify=False,
                stop=ctx.state.stop,
            ),
            default=None,
        )

    def _configure(self, ctx: BootstrapContext, disks: tuple[Disk, ...]) -> None:
        o, a, rel = ctx.options, ctx.actions, ctx.release
        if o.talosconfig is not None:
            raise PhaseError(
                self.title,
                f"the node is in maintenance mode, so --talosconfig {o.talosconfig} cannot belong to it",
                hint="omit --talosconfig: a new one is generated into the site directory",
            )
        disk = (
            choose_disk(disks, o.install_disk)
            if disks or not a.dry_run
            else (o.install_disk or PLACEHOLDER_DISK)
        )
        ctx.journal.set_fact("installDisk", disk)
        docs = machineconfig.build(o, rel)  # validated against the Talos schema
        ctx.report("machine config documents valid", "info", kinds=docs.kinds(), disk=disk)
        request = GenConfigRequest(
            cluster_name=o.site_id,
            endpoint=f"https://{o.node_ip}:6443",
            node_ip=o.node_ip,
            talos_version=rel.talos.version,
            kubernetes_version=rel.kubernetes.version,
            install_disk=disk,
            installer_image=rel.talos.installer_image,
            patches=(docs.patch_yaml,),
            extra_documents=docs.extra_yaml,
        )
        talos = ctx.talos()

        def generate() -> None:
            with tempfile.TemporaryDirectory(prefix="alga-talos-") as tmp:
                gen = talos.gen_config(request, Path(tmp))
            ctx.site.write("controlplane.yaml", gen.controlplane_yaml, mode=0o600)
            ctx.site.write("talosconfig", gen.talosconfig_yaml, mode=0o600)

        with ctx.step("generate machine config"):
            shown = cmd.argv_gen_config(
                request, Path("<tmp>/generated"), Path("<tmp>/controlplane-patch.yaml")
            )
            if ctx.site.path("controlplane.yaml").is_file() and ctx.site.talosconfig.is_file():
                ctx.report("reusing the generated machine config in the site directory", "info")
                a.note("reuse controlplane.yaml and talosconfig from the site directory")
            else:
                a.command(shown, generate, default=None)
                a.note(
                    f"write {ctx.site.path('controlplane.yaml')} and {ctx.site.talosconfig} (0600, secret)"
                )
        with ctx.step("apply machine config"):
            cp = ctx.site.path("controlplane.yaml")
            a.command(
                cmd.argv_apply_config(o.node_ip, cp), lambda: talos.apply_config(o.node_ip, cp), default=None
            )
            if not a.dry_run:
                ctx.journal.set_fact("machineConfigApplied", True)
                ctx.journal.save()

    def after(self, ctx: BootstrapContext) -> None:
        o = ctx.options
        if not o.prepull_images or ctx.journal.completed(3):
            return
        image = ctx.release.image("alga-core").reference
        talos = ctx.talos()
        talosconfig = ctx.talosconfig_path

        def pull() -> None:
            def worker() -> None:
                try:
                    talos.pull_image(o.node_ip, talosconfig, image)
                except ApplianceError as exc:
                    ctx.warn(f"pre-pull of {image} failed: {exc.message} (the kubelet pulls it later)")

            t = threading.Thread(target=worker, name="prepull", daemon=True)
            t.start()
            ctx.state.prepull = t

        ctx.actions.command(cmd.argv_image_pull(o.node_ip, talosconfig, image), pull, default=None)

    def plan(self, ctx: BootstrapContext) -> None:
        self.run(ctx)
        self.after(ctx)
