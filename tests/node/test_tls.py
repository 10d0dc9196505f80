"""Mutual TLS between nodes: HTTPS with the node certificates, client certificates required."""

from __future__ import annotations

import pytest

from node.client import ConnectionProblem, NodeClient
from tests.node.conftest import certificate_of_origin, final_delivery


def test_exchange_over_mutual_tls(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(tls=True)
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    assert sg.url.startswith("https://")
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert (delivery["state"], delivery["outcome"]) == ("delivered", "accepted")
    with cn.client("officer") as officer:
        assert [d["id"] for d in officer.inbox()] == [submitted["id"]]


def test_caller_without_client_certificate_is_refused(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(tls=True)
    cn = network["CN-CUSTOMS"]
    import ssl

    context = ssl.create_default_context(cafile=str(cn.settings.tls_ca_file))
    with NodeClient(cn.url, cn.keys["officer"], verify=context) as anonymous, \
            pytest.raises(ConnectionProblem):
        anonymous.inbox()
