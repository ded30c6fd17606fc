"""The page forms: a new area's upload (built from the API's fields), training steps, sharing."""

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework import serializers

from backend.api.serializers import AreaCreateSerializer
from backend.areas.models import Area
from backend.areas.permissions import AnyUser
from backend.areas.staging import STAGED_SUFFIX
from backend.models_registry.catalog import model_choices
from backend.models_registry.services import DEFAULT_STEPS, MAX_STEPS, MIN_STEPS
from reconstruction.config.file_names import SIDECAR_SUFFIXES


class AreaUploadForm(forms.Form):
    """The upload page: the fields of the API's :class:`AreaCreateSerializer`, declared there once.

    File contents are checked by the upload service (:func:`backend.jobs.submit.submit_area`). Files sent
    in chunks are named by hidden ``<field>_upload`` inputs the page's script adds, not by form fields.
    """

    def __init__(self, *args: Any, user: AnyUser | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in AreaCreateSerializer().fields.items():
            if not name.endswith(STAGED_SUFFIX):
                self.fields[name] = _form_field(field)
        model = self.fields["model"]  # a choice on the page: the names and trained versions this user may use
        self.fields["model"] = forms.ChoiceField(
            label=model.label, required=False, help_text=model.help_text, choices=model_choices(user)
        )

    @property
    def max_upload_bytes(self) -> int:
        """The size limit per file (RS3D_MAX_UPLOAD_BYTES), for the page's own check before sending."""
        return settings.RS3D_MAX_UPLOAD_BYTES

    @property
    def sidecar_suffixes(self) -> str:
        """The endings of sidecar files, comma-separated: the page's script puts each beside its image."""
        return ",".join(SIDECAR_SUFFIXES)


class MultipleFileInput(forms.ClearableFileInput):
    """A file chooser that takes several files (Django's documented recipe)."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files for one input (an orthophoto's tiles and their sidecars): a list in ``cleaned_data``."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:  # noqa: ANN401 - Django's signature
        """Each file cleaned as one FileField would clean it."""
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            single(None, initial)  # raises "required" when the field is
            return []
        return [single(f, initial) for f in files]


def _form_field(field: serializers.Field) -> forms.Field:
    """The form field that asks what a serializer field accepts, with its label, help and limits."""
    common = {"label": field.label, "help_text": field.help_text or "", "required": field.required}
    match field:
        case serializers.ListField(child=serializers.FileField()):
            return MultipleFileField(**common, widget=MultipleFileInput(attrs={"accept": field.style["accept"]}))
        case serializers.FileField():
            return forms.FileField(**common, widget=forms.ClearableFileInput(attrs={"accept": field.style["accept"]}))
        case serializers.BooleanField():
            return forms.BooleanField(**common)
        case serializers.ChoiceField():
            blank = [("", "As the files say")] if field.allow_blank else []
            return forms.ChoiceField(**common, choices=[*blank, *field.choices.items()])
        case serializers.IntegerField():
            return forms.IntegerField(**common, min_value=field.min_value, max_value=field.max_value)
        case serializers.CharField():
            return forms.CharField(**common, max_length=field.max_length)
    raise TypeError(f"no form field for a {type(field).__name__}")


class TrainForm(forms.Form):
    """How many optimiser steps "Train a model on this area" runs."""

    steps = forms.IntegerField(
        initial=DEFAULT_STEPS,
        min_value=MIN_STEPS,
        max_value=MAX_STEPS,
        help_text="More steps fit the area better and take longer (300 steps: some minutes on a CPU).",
    )


class AreaSharingForm(forms.Form):
    """Who sees an area: its visibility, and for a shared area the user and group names."""

    visibility = forms.ChoiceField(choices=Area.Visibility.choices, widget=forms.RadioSelect)
    users = forms.CharField(
        label="Share with users",
        required=False,
        help_text="User names, separated by commas or spaces.",
    )
    groups = forms.CharField(
        label="Share with groups",
        required=False,
        help_text="Group names, separated by commas.",
    )

    @classmethod
    def for_area(cls, area: Area, data: Any = None) -> "AreaSharingForm":  # noqa: ANN401 - request.POST or None
        """The form filled with the area's current sharing."""
        initial = {
            "visibility": area.visibility,
            "users": ", ".join(sorted(u.get_username() for u in area.shared_users.all())),
            "groups": ", ".join(sorted(g.name for g in area.shared_groups.all())),
        }
        return cls(data, initial=initial)

    def clean_users(self) -> list[Any]:
        """The named active users; every name must exist."""
        names = [n for n in re.split(r"[\s,]+", self.cleaned_data["users"]) if n]
        model = get_user_model()
        found = {u.get_username(): u for u in model.objects.filter(**{f"{model.USERNAME_FIELD}__in": names})}
        missing = [n for n in names if n not in found or not found[n].is_active]
        if missing:
            raise forms.ValidationError(f"No such user: {', '.join(missing)}.")
        return list(found.values())

    def clean_groups(self) -> list[Group]:
        """The named groups; every name must exist."""
        names = [n.strip() for n in self.cleaned_data["groups"].split(",") if n.strip()]
        found = {g.name: g for g in Group.objects.filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise forms.ValidationError(f"No such group: {', '.join(missing)}.")
        return list(found.values())
