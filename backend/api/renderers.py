"""Renderers beyond DRF's: what the API's content negotiation may answer besides JSON and the browsable page."""

from rest_framework.renderers import JSONRenderer


class GeoJSONRenderer(JSONRenderer):
    """GeoJSON (RFC 7946): JSON with its own media type, the one the features answer carries.

    A client that asks for ``application/geo+json`` gets the features (DRF answered it 406 Not Acceptable).
    """

    media_type = "application/geo+json"
    format = "geojson"
