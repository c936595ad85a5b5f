"""Every write path a person can take, for the role matrix and the audit walk.

A path is an attempt made by someone (signed in to the console, holding a write
token of their own, or naming themselves to a command), and a check of whether it
was written. The roles that may take it are the table's answer.
"""

from __future__ import annotations

from .api import API
from .base import ADMINS, ALL, RESPONDERS, Who, World, WritePath
from .commands import COMMANDS
from .console import CONSOLE

PATHS = [*CONSOLE, *API, *COMMANDS]

__all__ = ["ADMINS", "ALL", "PATHS", "RESPONDERS", "Who", "World", "WritePath"]
