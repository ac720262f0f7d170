"""`appliance lab up|down|status`: the simulated appliance on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import EXIT_ACTION_REQUIRED

app = typer.Typer(help="Run a simulated appliance on loopback (no hardware needed).", no_args_is_help=True)

SiteIdOpt = Annotated[
    str,
    typer.Option("--site-id", help="Site the lab writes ($ALGA_APPLIANCE_HOME/<site-id>/). Default: lab."),
]


def _complete_scenario(incomplete: str) -> list[str]:
    """Scenario names for shell completion (the scenario files of this package)."""
    from appliance_lab.scenario import scenario_names

    return [name for name in scenario_names() if name.startswith(incomplete)]


@app.command("up")
def up(
    *,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="What the simulated appliance does (see docs/lab.md). Default: healthy.",
            autocompletion=_complete_scenario,
        ),
    ] = "healthy",
    speed: Annotated[
        float, typer.Option("--speed", help="Time scale: 10 runs the scenario ten times faster. Default: 1.")
    ] = 1.0,
    site_id: SiteIdOpt = "lab",
    bootstrapped: Annotated[
        bool,
        typer.Option(
            "--bootstrapped",
            help="Start with Talos installed and Kubernetes up (skips phase 0). "
            "Default: the node starts in maintenance mode.",
        ),
    ] = False,
    foreground: Annotated[
        bool,
        typer.Option("--foreground", help="Run in this terminal until Ctrl-C instead of in the background."),
    ] = False,
) -> None:
    """Start the lab in the background and print what to run next."""
    from appliance_lab import manage

    info = manage.lab_up(
        scenario=scenario, speed=speed, site_id=site_id, bootstrapped=bootstrapped, foreground=foreground
    )
    if info is None:
        return
    console.display_success(f"Lab '{site_id}' is up (scenario {info['scenario']}, speed {info['speed']}).")
    console.display_text(
        f"Node address:  {info['nodeIp']}\n"
        f"Kubeconfig:    {info['kubeconfig']}\n"
        f"Talosconfig:   {info['talosconfig']}\n"
        f"Kubernetes:    {info['apiUrl']}\n"
        f"Login URL:     {info['loginUrl']} (answers once alga-core is ready)\n"
        f"Status URL:    {info['statusUrl']} (answers once the status service is ready)"
    )
    console.display_info("Next:")
    console.display_text(f"  {manage.next_command(info, site_id)}")
    console.display_text(f"  kubectl --kubeconfig {info['kubeconfig']} get nodes")


@app.command("down")
def down(*, site_id: SiteIdOpt = "lab") -> None:
    """Stop the lab and remove its site directory."""
    from appliance_lab import manage

    message = manage.lab_down(site_id=site_id)
    console.display_info(message)


@app.command("status")
def lab_status(*, site_id: SiteIdOpt = "lab") -> None:
    """Say whether the lab runs, with its scenario, URLs and Talos state."""
    from appliance_lab import manage

    info = manage.lab_status(site_id=site_id)
    if info is None:
        console.display_info(f"No lab is running for site '{site_id}'. Start one with 'appliance lab up'.")
        raise typer.Exit(EXIT_ACTION_REQUIRED)
    console.display_success(f"Lab '{site_id}' is running (pid {info['pid']}).")
    console.display_text(
        f"Scenario:      {info['scenario']} (speed {info['speed']}, started {info['startedAt']})\n"
        f"Talos node:    {info['nodeIp']} ({info.get('talosState', 'unknown')})\n"
        f"Kubernetes:    {info['apiUrl']}\n"
        f"Kubeconfig:    {info.get('kubeconfig', '')}\n"
        f"Login URL:     {info['loginUrl']}\n"
        f"Status URL:    {info['statusUrl']}"
    )
