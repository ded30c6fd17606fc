"""Benchmarks: run each as `.venv/bin/python -m bench.<name>` from the repository root; each prints a table.

What a benchmark may import: the library (``reconstruction``, including the inputs of known truth in
``reconstruction.synthetic``), the helpers it shares with the tests (``devtools``: processes, Chromium) and its
own ``bench._*`` modules; never ``tests`` (tests/reconstruction/test_code_quality.py checks this). Only
``bench_delivery`` imports the web app (``backend``), after ``django.setup()`` in a private RS3D_HOME, because
what it times is the app's own publishing and serving; ``bench_load`` and ``bench_tiles`` reach the app through
``manage.py`` and HTTP in child processes.
"""
