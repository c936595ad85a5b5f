"""Every write of the notifications app: subscribers (sign-up, confirmation, changes),
the outbox (an event per announced change) and deliveries (fan-out, sending,
retries, the sweep)."""
