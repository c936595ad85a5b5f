"""The public subscription forms. The services hold the rules (a valid address, an
allowed URL, at least one component); their errors land on the fields here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from incidents.models import Component, Page
from incidents.selectors import component_tree

from .models import Channel, Scope

SCOPE_CHOICES = [
    (Scope.PAGE, "Everything on this page"),
    (Scope.COMPONENTS, "Only the components I choose"),
]


@dataclass(frozen=True)
class Choice:
    """A checkbox in the component list; a group's children sit under it."""

    component: Component
    checked: bool
    children: list[Choice]


class ScopeForm(forms.Form):
    scope = forms.ChoiceField(
        choices=SCOPE_CHOICES, initial=Scope.PAGE, widget=forms.RadioSelect
    )
    # Rendered by hand as a tree (see ``tree``). A chosen group stays a group: its
    # subscribers hear of every child, including ones added later.
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.live().select_related("group"),
        to_field_name="public_id",
        required=False,
    )

    def __init__(self, *args: Any, page: Page, **kwargs: Any) -> None:
        """The choices are the live components ``page`` shows."""
        super().__init__(*args, **kwargs)
        self.page = page
        field = self.fields["components"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = self.shown().select_related("group")

    def shown(self) -> QuerySet[Component]:
        return Component.objects.live().filter(pages=self.page)

    def chosen_components(self) -> list[Component]:
        if self.cleaned_data["scope"] != Scope.COMPONENTS:
            return []
        return list(self.cleaned_data["components"])

    def tree(self) -> list[Choice]:
        checked = set(self._checked_ids())
        live = list(self.shown())
        return [
            Choice(
                parent,
                parent.public_id in checked,
                [Choice(c, c.public_id in checked, []) for c in children],
            )
            for parent, children in component_tree(live)
            if children or not parent.is_group
        ]

    def _checked_ids(self) -> list[str]:
        # The submitted values when bound, the initial components' ids otherwise.
        return [str(value) for value in self["components"].value() or []]

    def add_service_errors(self, error: ValidationError) -> None:
        """A service's ValidationError onto the fields it names, the rest on top."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class SubscribeForm(ScopeForm):
    channel = forms.ChoiceField(
        choices=Channel.choices, initial=Channel.EMAIL, label="Send notifications by"
    )
    email = forms.CharField(
        required=False,
        max_length=254,
        label="Email address",
        help_text="For a webhook, Slack or Teams: who to tell if deliveries fail.",
    )
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="URL",
        help_text="For a webhook, or a Slack or Teams incoming webhook.",
    )

    field_order = ["channel", "email", "url", "scope", "components"]
