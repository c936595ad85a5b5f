"""The management API v1 for probes and their results (Heliograph's own resource)."""
