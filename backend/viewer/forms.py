"""The upload form of a new area, and the form that shares it."""

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from backend.areas.models import Area
from backend.areas.permissions import AnyUser
from backend.models_registry.catalog import UnknownModel, model_choices, resolve_choice
from backend.models_registry.models import ModelVersion
from backend.models_registry.services import DEFAULT_STEPS, MAX_STEPS, MIN_STEPS


class AreaUploadForm(forms.Form):
    """Name, orthophoto and optional height sources; file contents are checked by the upload service."""

    name = forms.CharField(max_length=200, help_text="How planners will find this area.")
    ortho = forms.FileField(
        label="Orthophoto (GeoTIFF)",
        required=False,
        help_text="RGB or RGB+NIR, 8 or 16 bit, georeferenced. Leave it out only for a stereo pair.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.jp2,image/tiff"}),
    )
    dsm = forms.FileField(
        label="DSM (GeoTIFF, optional)",
        required=False,
        help_text="Surface heights in metres.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff"}),
    )
    lidar = forms.FileField(
        label="LiDAR (LAS/LAZ, optional)",
        required=False,
        help_text="A classified point cloud of the same area.",
        widget=forms.ClearableFileInput(attrs={"accept": ".las,.laz"}),
    )
    epsg = forms.IntegerField(
        label="EPSG code (only if your files carry no CRS)",
        required=False,
        min_value=1024,
        max_value=999999,
        help_text="For example 2154 for Lambert-93 or 28992 for RD New.",
    )
    footprints = forms.FileField(
        label="Building footprints (optional)",
        required=False,
        help_text="The map you already have: GeoPackage, GeoJSON, zipped Shapefile or FlatGeobuf of polygons.",
        widget=forms.ClearableFileInput(attrs={"accept": ".gpkg,.geojson,.json,.zip,.fgb"}),
    )
    second_image = forms.FileField(
        label="Second image (GeoTIFF, optional)",
        required=False,
        help_text="Another date or sensor of the same place; it is aligned to the orthophoto by feature matching.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.jp2,image/tiff"}),
    )
    register_dsm = forms.BooleanField(
        label="Align the DSM to the LiDAR",
        required=False,
        help_text="For a DSM that does not line up with the LiDAR (another source or date); needs both files.",
    )
    stereo_1 = forms.FileField(
        label="Stereo image 1 (optional)",
        required=False,
        help_text="Satellite images with RPC camera models (GeoTIFF or NITF): a pair, or a triplet, "
        "becomes a DSM (and, without an orthophoto, the orthophoto too).",
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.ntf,.nitf"}),
    )
    stereo_2 = forms.FileField(
        label="Stereo image 2",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.ntf,.nitf"}),
    )
    stereo_3 = forms.FileField(
        label="Stereo image 3 (optional)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,.ntf,.nitf"}),
    )
    model = forms.ChoiceField(
        label="Model",
        required=False,
        help_text="The network that predicts classes (and heights without a DSM or LiDAR).",
    )

    def __init__(self, *args: Any, user: AnyUser | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["model"].choices = model_choices(user)

    @property
    def max_upload_bytes(self) -> int:
        """The size limit per file (RS3D_MAX_UPLOAD_BYTES), for the page's own check before sending."""
        return settings.RS3D_MAX_UPLOAD_BYTES

    def clean_model(self) -> tuple[str, ModelVersion | None]:
        """(shipped name, None) or ("", trained version); ("", None) for the default."""
        try:
            return resolve_choice(self.user or AnonymousUser(), self.cleaned_data["model"])
        except UnknownModel as err:
            raise forms.ValidationError(str(err)) from err


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
