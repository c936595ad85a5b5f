"""What the management API's resources share: page scoping, request envelopes,
errors, pagination, rate limits and the OpenAPI schema.

Paths and fields follow Statuspage's manage API v1 (``/api/v1/pages/{page_id}/...``)
so its clients work with only the base URL and key changed. Every write goes through
the same services as the console.
"""
