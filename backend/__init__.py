"""rs3d's Django project: settings, root URLs and the ASGI application; the apps live beside them.

The apps import each other one way: each only from those below it (a test holds this)::

    viewer            the pages: HTML views and forms
    api               the REST API: serializers, views, parsers, throttles
    serving           sending what a viewer may read, fast: file delivery, the data and features gates in front
                      of Django, the grants they remember; a plain package, not an app
    jobs              reconstruction jobs on an area: run, chips, merge, publish; the worker command
    models_registry   trained networks: which one a run uses, training one on an area
    areas             areas, their sources, versions, features, sharing, uploads (checked, then stored)
    runtime           what runs the core for all of them: child processes, leases, database retries,
                      disk space, check slots; a plain package, not an app, that imports no app
    reconstruction    the core, which imports no Django

No import goes up (at module level or in a function; a type named under ``if TYPE_CHECKING:`` never
runs). So a job may update its area, but an area's code never starts a job: the views pass
:func:`backend.jobs.services.start_job` to :func:`backend.areas.uploads.create_area`. Models name models
of apps above them by label ("models_registry.ModelVersion"), as Django's foreign keys allow, without
importing them.

Every Django process (web, worker, manage.py) starts with GDAL and PROJ cut off the network, as the
core's processes do: nothing here fetches through them, so a crafted file or CRS cannot make them try.
"""

from reconstruction.gdal_env import deny_network

deny_network()
