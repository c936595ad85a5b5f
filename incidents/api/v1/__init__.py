"""The management API v1 for components, groups, incidents, templates and the page."""
