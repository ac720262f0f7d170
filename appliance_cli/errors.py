"""One error hierarchy for the whole tool.

The top level (``cli.main``) turns these into one clear line and an exit code:
usage errors exit 2, action-required errors exit 1, interrupts exit 130.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_ACTION_REQUIRED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ApplianceError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_code: int = EXIT_ACTION_REQUIRED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ApplianceError):
    """Bad input: a flag, a file or a combination the user gave. Exit 2, nothing mutated.

    ``param`` names the flag or file so the message can point at it.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(f"{param}: {message}" if param else message, hint=hint)
        self.param = param


class ReleaseError(UsageError):
    """An unknown or malformed release manifest."""


class CatalogError(ApplianceError):
    """The component catalog shipped with the tool is malformed (a packaging bug)."""


class SnapshotError(UsageError):
    """An unreadable or malformed cluster snapshot file."""


class ActionRequired(ApplianceError):
    """The appliance needs an operator action (login blocked). Exit 1."""

    exit_code = EXIT_ACTION_REQUIRED


class CommandError(ApplianceError):
    """An external command (talosctl, flux, kubectl) failed.

    Carries the argv and captured output. Secrets must already be redacted from both.
    """

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class PhaseError(ApplianceError):
    """A bootstrap phase failed; wraps its cause and names the phase."""

    def __init__(self, phase: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{phase}: {message}", hint=hint)
        self.phase = phase


class Interrupted(ApplianceError):
    """Ctrl-C: stop cleanly, exit 130."""

    exit_code = EXIT_INTERRUPTED


# Adapter-level errors (adapters/kube.py turns kubernetes ApiException into these).
class KubeError(ApplianceError):
    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeUnreachable(KubeError):
    """The API did not answer, or answered 429/5xx: worth another try later.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one;
    ``transient`` is false for failures a retry cannot fix (TLS, name resolution)."""

    retry_after: float | None = None
    transient: bool = True
    timed_out: bool = False


class KubeNotFound(KubeError):
    pass


class KubeConflict(KubeError):
    pass


class KubeForbidden(KubeError):
    pass


class KubeUnauthorized(KubeError):
    pass


class KubeInvalid(KubeError):
    pass
