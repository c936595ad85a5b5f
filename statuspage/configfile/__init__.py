"""Configuration as code: the page, components, probes and templates in one YAML file.

``apply_file`` brings the database in line with a file through the same services
as the console; ``export`` writes the database as such a file. See the README's
"Configuration as code" for the format.
"""

from __future__ import annotations

from .apply import Outcome, apply_file
from .export import export
from .source import ConfigError

__all__ = ["ConfigError", "Outcome", "apply_file", "export"]
