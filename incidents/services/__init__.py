"""Every write to the status model goes through these functions.

The console, the management commands, the probes and the API all call them, so a
status can only change in one way. Each refuses bad input with a ``ValidationError``
whose message says what is wrong, keyed by the field.
"""

from .components import (
    component_create,
    component_delete,
    component_pages_set,
    component_pin,
    component_set_status,
    component_update,
    components_reorder,
)
from .incidents import (
    impact_of,
    incident_create,
    incident_delete,
    incident_edit,
    incident_post_update,
    incident_publish_postmortem,
    incident_update_edit,
)
from .maintenance import (
    maintenance_advance,
    maintenance_reschedule,
    maintenance_schedule,
)
from .page import page_components_add, page_create, page_delete, page_update
from .templates import template_create, template_delete, template_update

__all__ = [
    "component_create",
    "component_delete",
    "component_pages_set",
    "component_pin",
    "component_set_status",
    "component_update",
    "components_reorder",
    "impact_of",
    "incident_create",
    "incident_delete",
    "incident_edit",
    "incident_post_update",
    "incident_publish_postmortem",
    "incident_update_edit",
    "maintenance_advance",
    "maintenance_reschedule",
    "maintenance_schedule",
    "page_components_add",
    "page_create",
    "page_delete",
    "page_update",
    "template_create",
    "template_delete",
    "template_update",
]
