"""GIS exports, one module per format.

- :func:`write_cog` -- rasters as Cloud-Optimised GeoTIFF.
- :func:`write_gpkg` -- features as a GeoPackage layer.
"""

from reconstruction.gis.cog import write_cog
from reconstruction.gis.gpkg import write_gpkg

__all__ = ["write_cog", "write_gpkg"]
