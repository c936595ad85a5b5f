from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from kit.bodies import TerminatedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

# Chunked bodies read whole (kit.bodies), under granian and gunicorn alike.
application = TerminatedBodies(get_wsgi_application())
