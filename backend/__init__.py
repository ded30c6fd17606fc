"""rs3d's Django project: settings, root URLs and the ASGI application; the apps live beside them."""
