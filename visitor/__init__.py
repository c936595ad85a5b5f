"""What the world reads: the public pages, feeds, badges, embed, charts, the
published snapshot and its export, and the Statuspage-compatible API v2. It reads
the status domain through ``incidents.selectors`` and reacts to its events."""
