"""manage.py commands: rs3d_worker."""
