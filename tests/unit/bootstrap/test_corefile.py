"""The Corefile is edited as data: only the root zone's forward arguments change."""

from __future__ import annotations

import pytest

from appliance_cli.bootstrap import corefile

TALOS_COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    log . {
        class error
    }
    prometheus :9153
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
        denial 9984 30
    }
    loop
    reload
    loadbalance
}
"""


def test_set_upstreams_replaces_only_the_forward_targets() -> None:
    out = corefile.set_upstreams(TALOS_COREFILE, ["1.1.1.1", "9.9.9.9"])
    assert corefile.upstreams(out) == ["1.1.1.1", "9.9.9.9"]
    assert "forward . 1.1.1.1 9.9.9.9 {" in out
    assert "max_concurrent 1000" in out
    before = corefile.parse(TALOS_COREFILE)[0].directives
    after = corefile.parse(out)[0].directives
    assert [d.name for d in before] == [d.name for d in after]
    assert [d.args for d in before if d.name != "forward"] == [d.args for d in after if d.name != "forward"]


def test_already_forwarding_is_unchanged_text() -> None:
    once = corefile.set_upstreams(TALOS_COREFILE, ["1.1.1.1"])
    assert corefile.set_upstreams(once, ["1.1.1.1"]) == once


def test_comments_and_other_server_blocks_survive() -> None:
    text = "# main\nexample.org:53 {\n    forward . 10.0.0.1\n}\n.:53 {\n    forward . 8.8.8.8 # google\n}\n"
    out = corefile.set_upstreams(text, ["1.1.1.1"])
    blocks = corefile.parse(out)
    assert blocks[0].keys == ["example.org:53"]
    assert blocks[0].directives[0].args == [".", "10.0.0.1"]
    assert corefile.upstreams(out) == ["1.1.1.1"]


def test_no_root_zone_is_an_error() -> None:
    with pytest.raises(corefile.CorefileError):
        corefile.set_upstreams("example.org {\n    whoami\n}\n", ["1.1.1.1"])


def test_unclosed_block_is_an_error() -> None:
    with pytest.raises(corefile.CorefileError):
        corefile.parse(".:53 {\n    errors\n")
