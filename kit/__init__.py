"""The shared kit: what every app uses, importing no app (API base classes, fields,
errors, pagination, digests, addresses, bodies, console helpers, middleware)."""
