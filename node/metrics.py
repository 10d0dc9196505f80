"""Prometheus metrics, one registry per node (no process-global collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class NodeMetrics:
    """The node's counters, gauges and histograms on a private CollectorRegistry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.documents_in = Counter(
            "tradeaccord_documents_received_total", "Documents received from peers, by outcome",
            ["outcome"], registry=self.registry)
        self.documents_out = Counter(
            "tradeaccord_documents_delivered_total",
            "Outbound deliveries finished, by final delivery state", ["state"],
            registry=self.registry)
        self.documents_submitted = Counter(
            "tradeaccord_documents_submitted_total", "Documents signed and stored for sending",
            registry=self.registry)
        self.delivery_attempts = Counter(
            "tradeaccord_delivery_attempts_total", "Envelope delivery attempts, by result",
            ["result"], registry=self.registry)
        self.dead_letters = Counter(
            "tradeaccord_delivery_dead_total",
            "Outbound messages that went dead (deadline, attempts or expiry), by reason code",
            ["code"], registry=self.registry)
        self.envelopes_refused = Counter(
            "tradeaccord_envelopes_refused_total", "Envelopes refused at the peer endpoint",
            ["code"], registry=self.registry)
        self.outbox_depth = Gauge(
            "tradeaccord_outbox_depth", "Outbound messages and deliveries not yet finished",
            registry=self.registry)
        self.registry_expiring = Gauge(
            "tradeaccord_registry_expiring",
            "Agreements, trust anchors and node certificates ending within 30 days, by kind",
            ["kind"], registry=self.registry)
        self.request_latency = Histogram(
            "tradeaccord_http_request_seconds", "API request latency", ["route", "method"],
            registry=self.registry)
        self.delivery_latency = Histogram(
            "tradeaccord_delivery_seconds", "Time from enqueue to verified receipt",
            registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
