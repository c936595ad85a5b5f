"""``/metrics``: what Prometheus scrapes about probes, regions, beat and deliveries."""
