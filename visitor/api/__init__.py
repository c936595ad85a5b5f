"""API v2: Statuspage's public JSON, served from the snapshot."""
