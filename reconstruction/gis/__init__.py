"""GIS exports, one module per format.

- :func:`write_cityjson` -- LoD1 buildings and a terrain TIN as CityJSON 2.0.
- :func:`write_cog` -- rasters as Cloud-Optimised GeoTIFF.
- :func:`write_gpkg` -- features as a GeoPackage layer; :func:`read_gpkg` reads them back.
- :func:`write_geojson` -- features as RFC 7946 GeoJSON in WGS 84.
"""

from reconstruction.gis.cityjson import write_cityjson
from reconstruction.gis.cog import write_cog
from reconstruction.gis.geojson import write_geojson
from reconstruction.gis.gpkg import read_gpkg, write_gpkg

__all__ = ["read_gpkg", "write_cityjson", "write_cog", "write_geojson", "write_gpkg"]
