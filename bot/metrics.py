"""Prometheus metrics, one registry per running bot (so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LATENESS_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800)


class Metrics:
    """Counters and histograms the operator scrapes at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("walkwell_updates_total", "Updates handled", ["kind"], registry=r)
        self.handler_latency = Histogram(
            "walkwell_handler_seconds",
            "Time to handle one update",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reminders = Counter(
            "walkwell_reminders_total", "Reminders by outcome", ["outcome"], registry=r
        )
        self.send_latency = Histogram(
            "walkwell_send_seconds", "Bot API send latency", buckets=LATENCY_BUCKETS, registry=r
        )
        self.lateness = Histogram(
            "walkwell_lateness_seconds",
            "Sent instant minus due instant",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.retry_after = Counter("walkwell_429_total", "429 answers from Telegram", registry=r)
        self.unknown = Counter(
            "walkwell_send_unknown_total",
            "Sends whose answer never came (routine ones are not sent again)",
            registry=r,
        )
        self.retaken = Counter(
            "walkwell_retaken_total",
            "Messages taken over from a worker that died while sending them (may be doubles)",
            registry=r,
        )
        self.outage_waits = Counter(
            "walkwell_outage_waits_total",
            "Sends Telegram did not take (5xx, unreachable), kept to send again",
            registry=r,
        )
        self.blocked = Counter("walkwell_blocked_total", "People who blocked the bot", registry=r)
        self.red_flags = Counter(
            "walkwell_red_flags_total", "Red-flag assessments by tier", ["tier"], registry=r
        )
        self.open_escalations = Gauge(
            "walkwell_open_escalations", "Escalations not yet resolved", registry=r
        )
        self.last_dispatch = Gauge(
            "walkwell_last_dispatch_timestamp", "Unix time of the last dispatch tick", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
