"""Run CNES CARS (satellite stereo -> DSM) in its own virtualenv, as a child process.

CARS pins numpy/numba/pandas versions that conflict with ours, so it lives in ``.venv-cars`` (made by
``scripts/setup.sh``) and we only talk to it through a JSON config, its log lines and its output files.
The child process is also the memory boundary: we measure its peak resident memory (all its workers).
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from reconstruction.children import die_with_parent
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback

ROOT = Path(__file__).resolve().parents[2]
#: The CARS version scripts/setup.sh installs and this module's config schema follows.
CARS_VERSION = "1.3.0"
#: Default wall-clock limit for one CARS run (seconds).
DEFAULT_TIMEOUT_S = 3600.0

_STAGES = (  # log line fragment -> progress fraction at which that stage starts
    ("CARS pipeline is started", 0.02),
    ("Starting subsampling pipeline", 0.05),
    ("Starting surface modeling pipeline for resolution 1/4", 0.1),
    ("Starting surface modeling pipeline for resolution 1/2", 0.25),
    ("Starting surface modeling pipeline for resolution 1/1", 0.35),
    ("Starting formatting pipeline", 0.95),
    ("CARS has successfully completed", 1.0),
)
_TILES = re.compile(r"(\d+)% complete \((\d+)/(\d+) tiles\)")
_TASK = re.compile(r"Started task (\w+)")


@dataclass(frozen=True)
class CarsRun:
    """One finished CARS run: its output folder, wall time and the peak memory of its process tree."""

    out_dir: Path
    seconds: float
    peak_memory_mb: float
    version: str


def cars_executable() -> Path:
    """The ``cars`` command: ``$RS3D_CARS``, else ``<repo>/.venv-cars/bin/cars``.

    Raises:
        ProcessingError: it is missing; the message says how to install it.
    """
    path = Path(os.environ.get("RS3D_CARS") or ROOT / ".venv-cars" / "bin" / "cars")
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ProcessingError(
            f"Stereo reconstruction needs CNES CARS {CARS_VERSION}, which is not installed at {path}. "
            "Run `bash scripts/setup.sh` (it creates .venv-cars), or set RS3D_CARS to a cars executable."
        )
    return path


def geoid_undulation(lon: float, lat: float) -> float:
    """EGM96 geoid height above the WGS84 ellipsoid (metres), from the grid CARS ships; 0 if absent."""
    import rasterio

    grids = sorted(cars_executable().parent.parent.glob("lib/python3*/site-packages/cars/conf/geoid/egm96.grd"))
    if not grids:
        return 0.0
    with rasterio.open(grids[0]) as src:
        row, col = src.index(lon % 360.0, lat)
        return float(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])


def write_config(
    images: list[Path],
    dem: Path,
    out_dir: Path,
    config_path: Path,
    *,
    epsg: int | None,
    resolution: float | None,
    workers: int,
    full_resolution_only: bool = False,
) -> Path:
    """Write a CARS 1.3 configuration: the views, the initial elevation, an ellipsoidal DSM and its image.

    ``full_resolution_only`` skips CARS's coarse passes (1/16, 1/4), which find nothing to match in small
    images ("The DSM generated at resolution 4 is empty"); the tie-point DEM then guides the matching alone.
    """
    keys = ["left", "right", "third"]
    sensors = {keys[i]: {"image": str(path.resolve())} for i, path in enumerate(images)}
    inputs: dict[str, object] = {"sensors": sensors, "initial_elevation": {"dem": str(dem.resolve())}}
    if len(images) == 3:
        # Each other view paired with the reference view, as in CARS's own triplet example: the two
        # non-reference views may be nearly parallel (a near-zero convergence angle makes CARS fail).
        inputs["pairing"] = [["left", "right"], ["left", "third"]]
    output: dict[str, object] = {
        "directory": str(out_dir.resolve()),
        "product_level": ["dsm"],
        "geoid": False,  # heights above the WGS84 ellipsoid, like the RPCs and s2p
        "auxiliary": {"image": True, "filling": False},
    }
    if epsg is not None:
        output["epsg"] = epsg
    if resolution is not None:
        output["resolution"] = resolution
    config: dict[str, object] = {
        "input": inputs,
        "output": output,
        # One worker runs in-process ("sequential"): on 2 cores, starting worker processes costs more than it gains.
        "orchestrator": {"mode": "sequential"} if workers <= 1 else {"mode": "multiprocessing", "nb_workers": workers},
    }
    if full_resolution_only:
        config["subsampling"] = {"advanced": {"resolutions": [1]}}
    config_path.write_text(json.dumps(config, indent=2))
    return config_path


def run_cars(
    config_path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S, on_progress: ProgressCallback | None = None
) -> CarsRun:
    """Run ``cars <config>`` and report stage-level progress (stage ``"stereo"``, fraction 0..1).

    Args:
        config_path: written by :func:`write_config`.
        timeout_s: wall-clock limit; the whole CARS process group is killed past it.
        on_progress: progress callback; it may raise ``Cancelled``, which stops CARS.

    Returns:
        The run's output folder, seconds and peak memory (MB, summed over the CARS process tree).

    Raises:
        ProcessingError: CARS is missing, failed (the message quotes its last error) or timed out.
    """
    exe = cars_executable()
    out_dir = Path(json.loads(config_path.read_text())["output"]["directory"])
    command = [str(exe), "--loglevel", "INFO", "--logtype", "plain", str(config_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
        start_new_session=True,
        cwd=config_path.parent,
        preexec_fn=die_with_parent,  # CARS runs in its own session: tie it to us
    )
    sampler = _MemorySampler(process.pid)
    sampler.start()
    timer = threading.Timer(timeout_s, _kill, (process,))
    timer.start()
    tail: deque[str] = deque(maxlen=60)
    try:
        assert process.stdout is not None
        _follow(process.stdout, tail, on_progress)
        code = process.wait()
    except BaseException:
        _kill(process)
        raise
    finally:
        timer.cancel()
        sampler.stop()
    seconds = time.monotonic() - start
    if code != 0:
        if seconds >= timeout_s:
            raise ProcessingError(f"Stereo reconstruction (CARS) ran past its {timeout_s:.0f} s limit and was stopped.")
        raise ProcessingError(f"Stereo reconstruction (CARS) failed: {_last_error(tail)} (log: {out_dir / 'logs'}).")
    return CarsRun(out_dir=out_dir, seconds=seconds, peak_memory_mb=sampler.peak_mb, version=CARS_VERSION)


def _follow(stream: object, tail: deque[str], on_progress: ProgressCallback | None) -> None:
    base, span, task, reported = 0.0, 0.02, "starting", 0.0
    for line in stream:  # type: ignore[attr-defined]
        line = line.rstrip()
        tail.append(line)
        if on_progress is None:
            continue
        for fragment, fraction in _STAGES:
            if fragment in line:
                following = [f for _, f in _STAGES if f > fraction]
                base, span = fraction, (following[0] - fraction if following else 0.0)
                reported = max(reported, base)
                on_progress("stereo", reported, fragment)
        if found := _TASK.search(line):
            task = found.group(1).replace("_", " ")
        if found := _TILES.search(line):
            done, total = int(found.group(2)), int(found.group(3))
            reported = max(reported, base + span * 0.9 * done / max(total, 1))
            on_progress("stereo", reported, f"{task}: {done}/{total} tiles")


def _last_error(tail: deque[str]) -> str:
    errors = [line.split("::")[-1].strip() for line in tail if ":: ERROR ::" in line or "Error:" in line]
    return errors[-1] if errors else (tail[-1] if tail else "no output")


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class _MemorySampler(threading.Thread):
    """Sample the summed resident memory of a process and its descendants every half second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.wait(0.5):
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)
