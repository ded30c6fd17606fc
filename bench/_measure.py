"""Wall time, CPU time and peak memory of one call, for the benchmarks' tables."""

import os
import platform
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Run fn; return its result, wall seconds, CPU seconds and peak RSS above the start (MB, sampled every 5 ms)."""
    process = psutil.Process()
    base = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sampler.join()
    return result, seconds, cpu, max(peak - base, 0) / 2**20


def fastest(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float, float]:
    """Run fn ``repeat`` times (at least once); :func:`measure` of the fastest run (the first, among equals)."""
    return min((measure(fn) for _ in range(max(repeat, 1))), key=lambda run: run[1])


def machine_facts() -> str:
    """The machine a table was measured on, and how busy it was: the line every bench prints under its table."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    cpu = platform.processor() or platform.machine()
    return (
        f"{psutil.cpu_count()} CPUs ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}; load average (1, 5, 15 min) at the end: {load}"
    )
