"""Plain-language lines about how a version's inputs were prepared: registrations, stereo matching, model trust.

The job page and the area page show them, so a planner sees how well a second image or a DSM lined up,
how complete a stereo DSM is, and how far the model trusted its own prediction, without opening manifest.json.
"""

from typing import Any

_REGISTERED = {"second_image": "Second image", "dsm": "DSM"}


def input_quality(manifest: dict[str, Any] | None) -> list[str]:
    """One line per registered source and one for a stereo DSM, from a published ``manifest``."""
    if not manifest:
        return []
    lines = [
        _registration_line(_REGISTERED.get(source, source), report)
        for source, report in (manifest.get("registration") or {}).items()
        if isinstance(report, dict)
    ]
    if (stereo := manifest.get("stereo")) and isinstance(stereo, dict):
        lines.append(_stereo_line(stereo))
    trust = (manifest.get("prediction") or {}).get("trust")
    if isinstance(trust, dict) and trust.get("shift_score") is not None:
        lines.append(_trust_line(trust))
    return lines


def _trust_line(trust: dict[str, Any]) -> str:
    """The trust gate of a run whose heights were predicted (see ``reconstruction.prediction.trust``)."""
    line = (
        f"Predicted heights: distribution-shift score {trust['shift_score']:.2f} (1 is like the towns the model "
        f"learned from); {100 * (trust.get('untrusted_share') or 0):.0f} % of the area left as ground with no "
        f"buildings"
    )
    if trust.get("removed_building_m2"):
        line += f", {trust['removed_building_m2']:,.0f} m² of predicted buildings removed"
    worst = trust.get("worst_chip_shift_score")
    if worst is not None and worst > trust["shift_score"]:
        line += f"; its least familiar part (one of {trust.get('chips', '?')} chips) scored {worst:.2f}"
    return line + "."


def _registration_line(label: str, report: dict[str, Any]) -> str:
    dx, dy = (report.get("shift_m") or (0.0, 0.0))[:2]
    constraint = "with" if report.get("semantic") else "without"
    line = (
        f"{label} aligned ({report.get('model', '?')} model, {constraint} the semantic constraint): "
        f"moved {dx:+.2f} m east, {dy:+.2f} m north; {report.get('n_inliers', 0)} of "
        f"{report.get('n_matches', 0)} matches agree, residual {report.get('rmse_m', float('nan')):.2f} m."
    )
    if checks := report.get("check_points"):
        line += f" Error on {checks['count']} check points: median {checks['median_m']:.2f} m."
    return line


def _stereo_line(stereo: dict[str, Any]) -> str:
    valid = stereo.get("valid_share")
    parts = [f"Stereo DSM from {stereo.get('images', '?')} images"]
    if stereo.get("library"):
        parts[0] += f" ({stereo['library']})"
    if valid is not None:
        parts.append(f"{100 * valid:.0f} % of the area has a height")
    if stereo.get("resolution"):
        parts.append(f"{stereo['resolution']:g} m cells")
    if stereo.get("run_seconds") is not None:
        parts.append(f"{stereo['run_seconds']:.0f} s")
    return ", ".join(parts) + "."
