"""Image pulls: the kubelet's event sequence and containerd's error wordings."""

from __future__ import annotations

from .components import Comp
from .events import event
from .ids import NODE, Obj, digest
from .pods import cfp


def pull_failure_events(
    p: Obj,
    comp: Comp,
    image: str,
    rpc_error: str,
    *,
    first: float,
    last: float,
    attempts: int,
    backoffs: int,
    with_backoff: bool = True,
) -> list[Obj]:
    fp = cfp(comp)
    # times are seconds before collectedAt: the last pull attempt began 30 s before the last back-off
    pull_last = min(first, last + 30) if attempts > 1 else first
    fail_last = min(first - 3, last + 28) if attempts > 1 else first - 3
    evs = [
        event(
            p,
            "Scheduled",
            f"Successfully assigned {comp.namespace}/{p['metadata']['name']} to {NODE}",
            type="Normal",
            first=first + 2,
            component="default-scheduler",
        ),
        event(
            p,
            "Pulling",
            f'Pulling image "{image}"',
            type="Normal",
            count=attempts,
            first=first,
            last=pull_last,
            field_path=fp,
        ),
        event(
            p,
            "Failed",
            f'Failed to pull image "{image}": {rpc_error}',
            count=attempts,
            first=first - 3,
            last=fail_last,
            field_path=fp,
        ),
        event(
            p, "Failed", "Error: ErrImagePull", count=attempts, first=first - 3, last=fail_last, field_path=fp
        ),
    ]
    # the Scheduled event comes from the scheduler (legacy recorder view kept simple)
    evs[0]["source"] = {"component": "default-scheduler"}
    evs[0]["reportingInstance"] = f"default-scheduler-{NODE}"
    if with_backoff:
        evs += [
            event(
                p,
                "BackOff",
                f'Back-off pulling image "{image}"',
                type="Normal",
                count=backoffs,
                first=first - 20,
                last=last,
                field_path=fp,
            ),
            event(
                p,
                "Failed",
                "Error: ImagePullBackOff",
                count=backoffs,
                first=first - 20,
                last=last,
                field_path=fp,
            ),
        ]
    return evs


def not_found_error(image: str) -> str:
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": {image}: not found'
    )


def unauthorized_error(image: str) -> str:
    repo, _tag = image.rsplit(":", 1)
    path = repo.split("/", 1)[1]
    scope = path.replace("/", "%2F")
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": failed to authorize: failed to fetch anonymous token: '
        f"unexpected status from GET request to https://ghcr.io/token?scope=repository%3A{scope}%3Apull"
        f"&service=ghcr.io: 401 Unauthorized"
    )


def forbidden_error(image: str) -> str:
    repo, tag = image.rsplit(":", 1)
    path = repo.split("/", 1)[1]
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": unexpected status from HEAD request to '
        f"https://ghcr.io/v2/{path}/manifests/{tag}: 403 Forbidden"
    )


def backoff_msg(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def rate_limited_error(image: str) -> str:
    repo = image.rsplit(":", 1)[0].removeprefix("docker.io/")
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to copy: '
        f"httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/{repo}/"
        f"manifests/{digest(image)}: 429 Too Many Requests - Server message: toomanyrequests: You have "
        "reached your pull rate limit. You may increase the limit by authenticating and upgrading: "
        "https://www.docker.com/increase-rate-limit"
    )
