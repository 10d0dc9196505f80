"""Connecting CLI commands to a node's API (URL and key from options or the environment)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from node.cli.common import UsageProblem
from node.client import ClientError, ConnectionProblem, NodeClient
from node.errors import NodeError
from node.settings import load_settings
from protocol.reason_codes import ReasonCode


class RemoteRefusal(NodeError):
    """A node's refusal as its problem details (RFC 9457) gave it: the primary code, every
    other reason code (``diagnostics`` lists them) and the HTTP status in the message."""

    def __init__(self, error: ClientError) -> None:
        super().__init__(error.code, f"{error.message} (HTTP {error.status})")
        self._codes = error.codes

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return (self.code, *(code for code in self._codes if code is not self.code))


@contextmanager
def connect(node: str | None, api_key: str | None) -> Iterator[NodeClient]:
    """A client for the node; a refusal becomes a NodeError (exit 1), a connection problem
    a usage problem (exit 2)."""
    settings = load_settings()
    url = node or settings.node_url
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    if not key:
        raise UsageProblem("give --api-key or set TRADEACCORD_API_KEY")
    client = NodeClient(url, key)
    try:
        yield client
    except ClientError as exc:
        raise RemoteRefusal(exc) from exc
    except ConnectionProblem as exc:
        raise UsageProblem(str(exc)) from exc
    finally:
        client.close()
