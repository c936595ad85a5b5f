"""Management API v1: subscribers and the deliveries made to them."""
