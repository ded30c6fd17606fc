"""Static files sent compressed: brotli and gzip copies written next to each collected file, once.

WhiteNoise sends a file's ``.br`` or ``.gz`` copy to a browser that accepts it, when the copy exists. Without
them the 3D view's first page is 7.8 MB on the wire, 6.6 MB of it CesiumJS (its ES module build, ``index.js``,
is 4.8 MB; 1.0 MB as brotli). WhiteNoise's own ``CompressedStaticFilesStorage`` compresses every file again
at each ``collectstatic``, and brotli at its best quality takes about 20 s for ``index.js`` alone on a 2-core
machine, while ``scripts/setup.sh`` (so every demo and test command) runs ``collectstatic`` each time. So this
storage compresses a file only when it changed since it was last compressed: :data:`INDEX` in ``STATIC_ROOT``
keeps each file's modification time as it was then (``collectstatic`` gives a file it copies again a new one).
The index also covers files that compress too little to get copies, which would otherwise be tried each time.

Cesium's classic-script and CommonJS builds (``Cesium.js``, ``index.cjs``, 11 MB together) are collected but
never loaded by the viewer, which imports ``index.js``: they are not compressed.
"""

import json
import os
from collections.abc import Iterator
from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedStaticFilesStorage

#: Collected files no page loads: no compressed copies for them.
NEVER_SENT = ("cesium/Cesium.js", "cesium/index.cjs")

#: In ``STATIC_ROOT``: each compressed file's modification time (ns) when it was compressed.
INDEX = "compressed-index.json"

_COPIES = (".br", ".gz")


class _FreshCompressor(Compressor):
    """WhiteNoise's compressor, which first removes a file's old copies (a changed file may no longer get one)."""

    def compress(self, path: str) -> list[str]:
        """Paths of the file's new compressed copies."""
        for suffix in _COPIES:
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return super().compress(path)


class OnceCompressedStaticFilesStorage(CompressedStaticFilesStorage):
    """``CompressedStaticFilesStorage`` that compresses each collected file once, and skips files never sent."""

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str, bool] | tuple[str, None, RuntimeError]]:
        """Compress what changed since the last ``collectstatic``; files in :data:`NEVER_SENT` are left as they are."""
        if dry_run:
            return
        done = self._read_index()
        stamps = {name: os.stat(self.path(name)).st_mtime_ns for name in paths if name not in NEVER_SENT}
        changed = {name: paths[name] for name, stamp in stamps.items() if done.get(name) != stamp}
        yield from super().post_process(changed, dry_run=dry_run, **options)
        with open(self.path(INDEX), "w") as index:
            json.dump(stamps, index, sort_keys=True)

    def create_compressor(self, **kwargs: Any) -> Compressor:
        """The compressor that replaces old copies (WhiteNoise's skip-list of extensions still holds)."""
        return _FreshCompressor(**kwargs)

    def _read_index(self) -> dict[str, int]:
        try:
            with open(self.path(INDEX)) as index:
                return json.load(index)
        except (FileNotFoundError, ValueError):
            return {}
