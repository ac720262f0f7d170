"""How long an image pull still needs: the image's size (release manifest) over the node's own
measured download rate (pure functions).

The rate comes from the kubelet's events of earlier pulls on this node. Since Kubernetes 1.29
the kubelet (``pkg/kubelet/images/image_manager.go``) says, on every pull it completed::

    Successfully pulled image "<image>" in 6.006s (6.006s including waiting). Image size: 129338587 bytes.

— the first duration is the pull itself, the second includes the wait for the pull queue;
both are Go ``time.Duration`` strings (``512ms``, ``6.006s``, ``6m51.212s``, ``1h2m3s``).
Older kubelets leave out the size; such events give no rate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PULLED_WITH_SIZE = re.compile(
    r'Successfully pulled image "(?P<image>[^"]+)" in (?P<pull>[0-9.hmsµnu]+) '
    r"\((?P<total>[0-9.hmsµnu]+) including waiting\)\. Image size: (?P<size>\d+) bytes\."
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
_SIZE = re.compile(r"^\s*~?\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})

# Pulls too small or too quick to measure a link with (a cached layer, a tiny image).
MIN_MEASURED_BYTES = 5_000_000
MIN_MEASURED_SECONDS = 0.5


def go_duration_seconds(text: str) -> float | None:
    """Seconds of a Go ``time.Duration`` string (``6m51.212s`` -> 411.212); None if not one."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def size_bytes(text: str | None) -> int | None:
    """Bytes of a release manifest's ``estimatedSize`` (``~1.8 GB``, ``450 MB``, ``2 GiB``)."""
    m = _SIZE.match(text or "")
    if m is None:
        return None
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


@dataclass(frozen=True)
class MeasuredPull:
    image: str
    size_bytes: int
    seconds: float


def measured_pulls(messages: Iterable[str]) -> list[MeasuredPull]:
    """Completed pulls with their size and pull time (not the queue wait), from event messages."""
    out: list[MeasuredPull] = []
    for message in messages:
        m = PULLED_WITH_SIZE.search(message)
        if m is None:
            continue
        seconds = go_duration_seconds(m.group("pull"))
        if seconds is None:
            continue
        out.append(MeasuredPull(m.group("image"), int(m.group("size")), seconds))
    return out


def download_rate(pulls: Iterable[MeasuredPull]) -> float | None:
    """The node's download rate in bytes per second: all measurable bytes over all their pull
    time (large pulls weigh more, as they should); None without a measurable pull."""
    total_bytes, total_seconds = 0, 0.0
    for p in pulls:
        if p.size_bytes >= MIN_MEASURED_BYTES and p.seconds >= MIN_MEASURED_SECONDS:
            total_bytes += p.size_bytes
            total_seconds += p.seconds
    return total_bytes / total_seconds if total_seconds > 0 else None


def seconds_total(size: int | None, rate: float | None) -> int | None:
    """Estimated seconds a whole pull of ``size`` bytes takes at ``rate`` bytes/s."""
    if size is None or rate is None or rate <= 0:
        return None
    return round(size / rate)


def seconds_left(size: int | None, elapsed: float | None, rate: float | None) -> int | None:
    """Estimated seconds until a pull of ``size`` bytes that has run ``elapsed`` seconds is done
    at ``rate`` bytes/s; None when a fact is missing. Never negative: a pull that runs longer
    than the estimate has 0 s left by it (shown as taking longer than the estimate)."""
    total = seconds_total(size, rate)
    return None if total is None else max(0, total - round(elapsed or 0))
