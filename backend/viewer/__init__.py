"""Viewer: HTML pages (area list, upload form, job progress, 3D view) and the area data files."""
