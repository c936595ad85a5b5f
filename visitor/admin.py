"""A page's brand in the console: reached from the page's settings ("Brand").

Who may change the page may change its brand (``incidents.change_page``); the
rules live in ``visitor.services.brand_update``, whose refusals come back as the
form's field errors with nothing written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from incidents.admin.base import ServiceAdmin
from incidents.models import Page
from visitor import brand as rules
from visitor import services
from visitor.models import Brand

TEXT_FIELDS = ("colour", "footer_text", "custom_css", "not_found_text")
LINKS_HELP = (
    f"Up to {rules.MAX_LINKS}, one a line: a label, a bar, an https:// address "
    "(Support | https://help.example.com)."
)


class BrandForm(forms.ModelForm):
    logo = forms.FileField(
        required=False,
        help_text=f"SVG or PNG, at most {rules.MAX_IMAGE_BYTES // 1024} KB; shown in "
        "place of the page's name, which stays its text.",
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    favicon = forms.FileField(
        required=False,
        help_text=f"SVG or PNG, at most {rules.MAX_IMAGE_BYTES // 1024} KB.",
    )
    remove_favicon = forms.BooleanField(required=False, label="Remove the icon")
    header_links = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text=LINKS_HELP
    )

    class Meta:
        model = Brand
        fields = ("page", *TEXT_FIELDS)
        widgets = {"custom_css": forms.Textarea(attrs={"rows": 12, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        links = self.instance.header_links if self.instance.pk else []
        self.initial["header_links"] = "\n".join(
            f"{link['label']} | {link['url']}" for link in links
        )

    def clean_header_links(self) -> list[dict[str, str]]:
        links = []
        for line in self.cleaned_data["header_links"].splitlines():
            if not line.strip():
                continue
            label, bar, url = line.partition("|")
            if not bar:
                raise forms.ValidationError(
                    f"{line[:60]!r} has no bar between its label and its address."
                )
            links.append({"label": label.strip(), "url": url.strip()})
        return links

    def changes(self) -> dict[str, Any]:
        """The service's keyword arguments for what the person changed."""
        data = self.cleaned_data
        fields: dict[str, Any] = {
            name: data[name] for name in TEXT_FIELDS if name in self.changed_data
        }
        if "header_links" in self.changed_data:
            fields["header_links"] = data["header_links"]
        for name in services.FILES:
            upload = data.get(name)
            if upload:
                # One byte more than allowed is enough to refuse it as too large.
                fields[name] = upload.read(rules.MAX_IMAGE_BYTES + 1)
            elif data.get(f"remove_{name}"):
                fields[name] = services.REMOVE
        return fields


@admin.register(Brand)
class BrandAdmin(ServiceAdmin):
    form = BrandForm
    list_display = ("page", "colour", "has_logo", "updated_at")
    fieldsets = (
        (None, {"fields": ("page",)}),
        (
            "Logo and icon",
            {"fields": ("logo", "remove_logo", "favicon", "remove_favicon")},
        ),
        ("Colour and links", {"fields": ("colour", "header_links", "footer_text")}),
        ("Stylesheet and errors", {"fields": ("custom_css", "not_found_text")}),
    )

    @admin.display(boolean=True, description="Logo")
    def has_logo(self, obj: Brand) -> bool:
        return bool(obj.logo_type)

    def get_form(
        self,
        request: HttpRequest,
        obj: models.Model | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        # The uploads are the form's own fields, named as the model's bytes (so a
        # refusal lands on them), which the admin would take for model fields.
        kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Brand | None = None
    ) -> tuple[str, ...]:
        return ("page",) if obj is not None else ()

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("logo", "favicon")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.PERMISSION)

    def has_change_permission(
        self, request: HttpRequest, obj: Brand | None = None
    ) -> bool:
        return request.user.has_perm(services.PERMISSION)

    def has_view_permission(
        self, request: HttpRequest, obj: Brand | None = None
    ) -> bool:
        return request.user.has_perm(
            "incidents.view_page"
        ) or self.has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: Brand | None = None
    ) -> bool:
        # Emptying its fields removes a brand; the row stays, as the page does.
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"page": request.GET.get("page")}

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "of-page/<int:page_id>/",
                self.admin_site.admin_view(self.of_page),
                name="visitor_brand_of_page",
            )
        ]
        return own + super().get_urls()

    def of_page(self, request: HttpRequest, page_id: int) -> HttpResponse:
        """The page settings' "Brand" link: the brand, or a new one for the page."""
        page = get_object_or_404(Page, pk=page_id)
        brand = Brand.objects.filter(page=page).only("pk").first()
        if brand is not None:
            return HttpResponseRedirect(
                reverse("admin:visitor_brand_change", args=[brand.pk])
            )
        return HttpResponseRedirect(
            reverse("admin:visitor_brand_add") + f"?page={page.pk}"
        )

    def save_model(
        self, request: HttpRequest, obj: Brand, form: Any, change: bool
    ) -> None:
        page = obj.page if change else form.cleaned_data["page"]
        saved = services.brand_update(page=page, actor=request.user, **form.changes())
        obj.pk = saved.pk
        obj._state.adding = False
