"""Classify a snapshot file offline (``appliance status --snapshot FILE``)."""

from __future__ import annotations

from pathlib import Path

from appliance_cli.errors import ReleaseError
from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.redact import redact_snapshot
from appliance_cli.status.snapshot import load_snapshot


def classify_snapshot_file(path: Path) -> StatusDocument:
    """Load and classify one snapshot.

    The release facts the snapshot carries (a support bundle writes them) win, so the answer
    is the same on any machine; else the release it names supplies image tags and sizes when
    this machine has its manifest.
    """
    from appliance_cli.releases import Release, load_release

    # a file from anywhere (an older bundle, a hand-made one) is cleaned like a live snapshot
    snapshot = redact_snapshot(load_snapshot(path))
    release: Release | None = None
    version = snapshot.site.release_version
    if version and not snapshot.release_facts.get("images"):
        try:
            release = load_release(version)
        except ReleaseError:
            release = None  # unknown here: the snapshot's published release facts are used instead
    return classify(snapshot, release=release)
