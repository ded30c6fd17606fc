"""Sending what a viewer may read, fast: published files and features answers, and the remembered "yes".

A plain package, not an app, below ``api`` and ``viewer`` (both use it) and above ``areas`` (whose models say who
may read what):

- ``delivery``: how a published file is sent (ETag, ranges, the precompressed copy, caching headers);
- ``grants``: the grant generation, the stamp every change that can revoke access bumps;
- ``data_gate``: the ASGI gate that answers a viewer's repeat requests for published files from the view's
  remembered "yes", without Django;
- ``feature_answers``, ``feature_grants``, ``features_gate``: the same for the features API: each published
  version's answers kept, the features view's "yes" remembered, and the ASGI gate in front of Django;
- ``static_files``: the storage ``collectstatic`` writes through, which gives each static file (CesiumJS above
  all) brotli and gzip copies, once.
"""
