"""A real OpenID Connect provider on loopback for the single sign-on tests: panva/oidc-provider (certified),
run with this machine's Node.js from tools/oidc (`make oidc` installs it from the npm registry)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, port_open, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[1]
PROVIDER = ROOT / "tools" / "oidc" / "provider.mjs"
INSTALLED = ROOT / "tools" / "oidc" / "node_modules" / "oidc-provider"


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class RunningProvider:
    issuer: str
    clients: tuple[OidcClient, ...]


@contextmanager
def oidc_provider(clients: tuple[OidcClient, ...], *, id_token_ttl: int = 3600) -> Iterator[RunningProvider]:
    """Start the provider with these registered clients; stopped (and its port freed) on exit."""
    node = shutil.which("node")
    if node is None or not INSTALLED.is_dir():
        pytest.skip("the OpenID provider needs Node.js and `make oidc`")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    metadata = [
        {"client_id": c.client_id, "client_secret": c.client_secret, "redirect_uris": [c.redirect_uri]} for c in clients
    ]
    env = {**os.environ, "ISSUER": issuer, "CLIENTS": json.dumps(metadata), "ID_TOKEN_TTL": str(id_token_ttl)}
    proc = subprocess.Popen(
        [node, str(PROVIDER)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROVIDER.parent
    )
    try:
        wait_for(lambda: port_open(port) or proc.poll() is not None, 30, 0.1, "the OpenID provider")
        if proc.poll() is not None:
            raise AssertionError(f"the OpenID provider exited with {proc.returncode}")
        yield RunningProvider(issuer=issuer, clients=clients)
    finally:
        stop_process(proc, timeout=5)
