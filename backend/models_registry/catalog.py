"""Which networks a user may reconstruct with, and what a choice passes to ``reconstruction run --model``.

Shipped networks (``reconstruction/prediction/weights/<name>.pt``) are open to everyone. A trained
:class:`ModelVersion` is seen by its owner and by everyone who may see its source area
(:mod:`backend.areas.permissions`); only succeeded ones can be chosen.
"""

from pathlib import Path

from django.db.models import Q, QuerySet

import reconstruction
from backend.areas.permissions import AnyUser, visible_areas
from backend.models_registry.models import ModelVersion

#: Folder of the shipped weights, read by name only (loading them needs torch, which the backend never imports).
SHIPPED_WEIGHTS = Path(reconstruction.__file__).parent / "prediction" / "weights"

#: What an area uses when nobody chose (the library's default).
DEFAULT_MODEL = "citynet-v1"


class UnknownModel(ValueError):  # noqa: N818 - reads as the reason the choice was refused
    """The chosen model does not exist or this user may not use it; str() says what to choose instead."""


def shipped_models() -> list[str]:
    """Names of the networks shipped with rs3d."""
    return sorted(p.stem for p in SHIPPED_WEIGHTS.glob("*.pt"))


def visible_versions(user: AnyUser) -> QuerySet[ModelVersion]:
    """Trained versions ``user`` may see: their own, and those of areas they may see."""
    rule = Q(area__in=visible_areas(user))
    if user.is_authenticated:
        rule |= Q(owner=user)
    return ModelVersion.objects.filter(rule).select_related("owner", "area")


def resolve_choice(user: AnyUser, choice: str) -> tuple[str, ModelVersion | None]:
    """Turn an upload's ``model`` value into (shipped name, None) or ("", version).

    Args:
        user: who uploads.
        choice: a shipped name, or the id of a trained version; blank means the default.

    Raises:
        UnknownModel: no such shipped name, or no succeeded version with that id that ``user`` may see.
    """
    choice = (choice or "").strip()
    if not choice:
        return "", None
    if choice in shipped_models():
        return choice, None
    if choice.isdigit():
        version = visible_versions(user).filter(pk=int(choice)).first()
        if version is not None and version.is_usable:
            return "", version
        if version is not None:
            raise UnknownModel(f"Model {choice} is not ready to use (its training is {version.get_status_display()}).")
    raise UnknownModel(
        f"Unknown model {choice!r}. Choose a shipped model ({', '.join(shipped_models())}) or the id of a "
        "trained model you can see (GET /api/models/)."
    )


def run_argument(model: str, version: ModelVersion | None) -> str | None:
    """The ``--model`` of a run: the version's weights file, a shipped name, or None for the default."""
    if version is not None:
        return str(version.weights_file)
    return model or None


def model_choices(user: AnyUser | None) -> list[tuple[str, str]]:
    """Choices of an upload form: the default, the shipped networks, then the user's usable trained versions."""
    choices = [("", f"{DEFAULT_MODEL} (default)")]
    choices += [(name, name) for name in shipped_models() if name != DEFAULT_MODEL]
    if user is not None:
        for version in visible_versions(user).filter(status=ModelVersion.Status.SUCCEEDED):
            place = version.area.name if version.area else "a deleted area"
            choices.append((str(version.pk), f"{version.label}, trained on {place} (#{version.pk})"))
    return choices
