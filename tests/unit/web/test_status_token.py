"""The status token is validated in one place (``site.validate_status_token``): a token the
status service would refuse is never deployed — bootstrap stops with exit 2 before it
touches anything."""

from __future__ import annotations

import pytest

from appliance_cli.errors import UsageError
from appliance_cli.site import Site, validate_status_token
from tests.cli_runner import invoke

BOOTSTRAP = ["bootstrap", "--bootstrap-mode", "fresh", "--release-version", "1.0-rc5"]
BOOTSTRAP += ["--node-ip", "10.0.0.5"]


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("a" * 16, True),
        ("Zq3-_x.~+/=!abcdef", True),
        ("a" * 15, False),
        ("a" * 513, False),
        ("sixteen chars ok", False),  # spaces
        ("tab\tinside-0123456789", False),
        ("ünïcode-0123456789", False),
    ],
)
def test_validate_status_token(token: str, ok: bool) -> None:
    if ok:
        assert validate_status_token(token, param="x") == token
    else:
        with pytest.raises(UsageError, match=r"^x: "):
            validate_status_token(token, param="x")


def test_bootstrap_refuses_a_too_short_site_token_before_touching_anything() -> None:
    site = Site.open("appliance-single-node")
    site.write("status-token", "short\n")
    before = sorted(p.name for p in site.root.iterdir())
    r = invoke(BOOTSTRAP)
    assert r.exit_code == 2, r.output
    flat = "".join(r.output.split())  # the console wraps long lines
    assert str(site.status_token_file) in flat and "5characterslong" in flat
    assert sorted(p.name for p in site.root.iterdir()) == before  # no journal, no configs, no lock
    assert site.read("status-token") == "short"  # and the file is left for the admin to fix


def test_bootstrap_refuses_a_token_file_that_is_not_text() -> None:
    site = Site.open("appliance-single-node")
    site.write("status-token", b"\xff\xfe\x00binary-0123456789")
    r = invoke(BOOTSTRAP)
    assert r.exit_code == 2 and "printableASCII" in "".join(r.output.split()), r.output
