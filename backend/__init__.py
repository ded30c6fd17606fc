"""rs3d's Django project: settings, root URLs and the ASGI application; the apps live beside them.

Every Django process (web, worker, manage.py) starts with GDAL and PROJ cut off the network, as the
core's processes do: nothing here fetches through them, so a crafted file or CRS cannot make them try.
"""

from reconstruction.gdal_env import deny_network

deny_network()
