"""One module per channel, each a ``Transport`` (see ``base``), named in
``delivery.TRANSPORTS``. The URL channels (webhook, Slack, Teams) share the address
rules of ``ssrf`` and the guarded HTTP client of ``net``."""
