"""Fixtures: a real registry (open and token-protected) and its token endpoint, on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration.registry.support import RegistryServer, Signer, TokenAuth, TokenServer

SERVICE = "alga-test-registry"
ISSUER = "alga-test-token-issuer"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """An open ``docker-registry`` (distribution v2.8) on 127.0.0.1."""
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    try:
        yield server
    finally:
        server.stop()
    assert server.proc.poll() is not None


@dataclass
class TokenRegistry:
    registry: RegistryServer
    tokens: TokenServer
    signer: Signer

    def push_headers(self, repo: str) -> dict[str, str]:
        token = self.signer.token(
            service=SERVICE, access=[{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def token_registry_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    """A ``docker-registry`` with ``auth: token`` trusting a loopback token endpoint."""
    workdir = tmp_path_factory.mktemp("token-registry")
    signer = Signer(workdir, ISSUER)
    tokens = TokenServer(signer, SERVICE)
    try:
        server = RegistryServer(
            workdir, token_auth=TokenAuth(tokens.realm, SERVICE, ISSUER, signer.cert_path)
        )
        try:
            yield TokenRegistry(server, tokens, signer)
        finally:
            server.stop()
    finally:
        tokens.stop()


@pytest.fixture
def token_registry(token_registry_session: TokenRegistry) -> Iterator[TokenRegistry]:
    """The token-protected registry with a fresh token policy (grant, anonymous) per test."""
    token_registry_session.tokens.reset()
    yield token_registry_session
    token_registry_session.tokens.reset()
