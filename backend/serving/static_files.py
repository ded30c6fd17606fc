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
never loaded by the viewer, whose bundle holds the part of Cesium it uses (with ``RS3D_DEBUG`` it imports the ES
module build, ``index.js``): they are not compressed.

Cesium is served from a folder named after what makes its files (:func:`cesium_folder`): its version and a
digest of ``frontend/package-lock.json`` (Cesium's and esbuild's exact versions) and ``frontend/build.mjs``
(which bundles its workers). Another Cesium or another worker build gets other URLs, so the files under one
URL never change and browsers may keep them for good (:func:`is_immutable`: ``Cache-Control: immutable``),
without ever revalidating. The same holds for the app's pages, each bundled into one file by
``frontend/build.mjs`` and served from ``rs3d-bundle/<digest>/`` (:func:`app_bundle_folder`), named after the
files they are made from; and as a page asks for the folder of the sources as they are when the server starts,
it never loads a bundle built from other sources. The app's modules themselves (``rs3d/``, loaded with
``RS3D_DEBUG`` and by the tests) keep their names across deploys: WhiteNoise's short max-age (60 s) and
revalidation hold for them.
"""

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedStaticFilesStorage

#: Files of Cesium's folder that no page loads: no compressed copies for them.
NEVER_SENT = ("Cesium.js", "index.cjs")

_NEVER_SENT = re.compile(r"cesium/(?:[^/]+/)?(?:" + "|".join(map(re.escape, NEVER_SENT)) + ")")

#: URL paths under the static URL that :func:`cesium_folder` names: ``cesium/<version>-<digest>/...``.
_VERSIONED_CESIUM = re.compile(r"/cesium/\d+\.\d+\.\d+[^/]*-[0-9a-f]{10}/")
#: URL paths under the static URL that :func:`app_bundle_folder` names: ``rs3d-bundle/<digest>/...``.
_VERSIONED_BUNDLE = re.compile(r"/rs3d-bundle/[0-9a-f]{10}/")


def cesium_folder(frontend: Path) -> str:
    """Static folder for Cesium, ``cesium/<version>-<digest>`` (see the module's docstring), from ``frontend/``."""
    lock = (frontend / "package-lock.json").read_bytes()
    version = json.loads(lock)["packages"]["node_modules/cesium"]["version"]
    digest = hashlib.sha256(lock + (frontend / "build.mjs").read_bytes()).hexdigest()[:10]
    return f"cesium/{version}-{digest}"


def app_bundle_folder(frontend: Path) -> str:
    """Static folder of the app's page bundles, ``rs3d-bundle/<digest>``, from ``frontend/``.

    The digest is ``appBundleDigest()``'s in ``frontend/build.mjs``, which writes the bundles there: of every
    ``.js`` and ``.css`` file under ``src/``, ``build.mjs`` and ``package-lock.json`` (esbuild's and Cesium's
    versions: the viewer's bundle holds Cesium), by path.
    """
    sources = [
        path.relative_to(frontend).as_posix()
        for path in (frontend / "src").rglob("*")
        if path.suffix in (".js", ".css") and path.is_file()
    ]
    digest = hashlib.sha256()
    for name in sorted([*sources, "build.mjs", "package-lock.json"]):
        digest.update(f"{name}\0".encode())
        digest.update((frontend / name).read_bytes())
        digest.update(b"\0")
    return f"rs3d-bundle/{digest.hexdigest()[:10]}"


def is_immutable(path: str, url: str) -> bool:
    """``WHITENOISE_IMMUTABLE_FILE_TEST``: the files of a versioned Cesium or app bundle folder never change."""
    return _VERSIONED_CESIUM.search(url) is not None or _VERSIONED_BUNDLE.search(url) is not None


#: Folders of ``STATIC_ROOT`` whose subfolders are versions (:func:`cesium_folder`, :func:`app_bundle_folder`).
VERSIONED = ("cesium", "rs3d-bundle")


def remove_stale_versions(static_root: Path, current: set[str]) -> list[Path]:
    """Remove the versioned folders of ``static_root`` that are neither in ``current`` nor the newest other one.

    collectstatic only adds: without this every Cesium upgrade or worker build would leave a whole Cesium behind
    (about 47 MB with its compressed copies) and every app change a bundle. The newest superseded version stays,
    so a page opened before a deploy can still load the workers and modules it asks for later.

    Returns:
        The folders removed.
    """
    removed = []
    for parent in VERSIONED:
        folder = static_root / parent
        if not folder.is_dir():
            continue
        old = [v for v in folder.iterdir() if v.is_dir() and f"{parent}/{v.name}" not in current]
        old.sort(key=lambda version: version.stat().st_mtime_ns, reverse=True)
        for version in old[1:]:
            shutil.rmtree(version)
            removed.append(version)
    return removed


#: In ``STATIC_ROOT``: each compressed file's modification time (ns) when it was compressed.
INDEX = "compressed-index.json"

_COPIES = (".br", ".gz")


class _FreshCompressor(Compressor):
    """WhiteNoise's compressor, which first removes a file's old copies (a changed file may no longer get one).

    Source maps get a gzip copy only: only a browser's developer tools ask for them, and brotli at its best
    quality took about 45 s on the viewer bundle's 17 MB map (it carries Cesium's sources), at every build.
    """

    def compress(self, path: str) -> list[str]:
        """Paths of the file's new compressed copies."""
        for suffix in _COPIES:
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        if path.endswith(".map"):  # a compressor of its own: post_process compresses in threads
            return Compressor(use_brotli=False, quiet=True).compress(path)
        return super().compress(path)


class OnceCompressedStaticFilesStorage(CompressedStaticFilesStorage):
    """``CompressedStaticFilesStorage`` that compresses each collected file once, and skips files never sent."""

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str, bool] | tuple[str, None, RuntimeError]]:
        """Compress what changed since the last ``collectstatic``; Cesium's :data:`NEVER_SENT` are left as they are."""
        if dry_run:
            return
        done = self._read_index()
        stamps = {name: os.stat(self.path(name)).st_mtime_ns for name in paths if not _NEVER_SENT.fullmatch(name)}
        changed = {name: paths[name] for name, stamp in stamps.items() if done.get(name) != stamp}
        yield from super().post_process(changed, dry_run=dry_run, **options)
        with open(self.path(INDEX), "w") as index:
            json.dump(stamps, index, sort_keys=True)
        remove_stale_versions(Path(self.location), {settings.RS3D_CESIUM_STATIC, settings.RS3D_APP_BUNDLE_STATIC})

    def create_compressor(self, **kwargs: Any) -> Compressor:
        """The compressor that replaces old copies (WhiteNoise's skip-list of extensions still holds)."""
        return _FreshCompressor(**kwargs)

    def _read_index(self) -> dict[str, int]:
        try:
            with open(self.path(INDEX)) as index:
                return json.load(index)
        except (FileNotFoundError, ValueError):
            return {}
