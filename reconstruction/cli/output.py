"""The output folder shared by the subcommands that write one (run, merge): empty, absent or replaced."""

import shutil
from pathlib import Path

from reconstruction.errors import ConfigError


def prepare_output(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless ``overwrite``, which removes it; an absent or empty one is left as it is.

    Raises:
        ConfigError: ``out`` holds files and ``overwrite`` is false.
    """
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"--out {out} is not empty. Choose another folder or pass --overwrite.")
        shutil.rmtree(out)
