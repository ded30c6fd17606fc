"""Helpers that the tests (``tests/``) and the benchmarks (``bench/``) share.

Starting, waiting for and stopping the live app's processes (:mod:`devtools.processes`) and the headless
Chromium flags (:mod:`devtools.chromium`). Neither the app nor the tests: this package imports nothing from
``backend``, ``reconstruction``, ``tests`` or ``bench``, so both sides may import it (the repository root is on
``sys.path`` through the virtualenv's ``rs3d.pth``).
"""
