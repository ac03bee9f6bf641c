"""Figures about the machine: CPU, memory, disk and (when nvidia-ml-py is importable) GPUs."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import psutil

GB = 1024**3


def machine_stats(path: Path) -> dict[str, Any]:
    """CPU and memory use now, free disk where `path` lives."""
    memory = psutil.virtual_memory()
    disk_dir = path if path.exists() else Path.cwd()
    disk = shutil.disk_usage(disk_dir)
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count(),
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
        "memory_percent": memory.percent,
        "memory_used_mb": round((memory.total - memory.available) / 2**20, 1),
        "memory_total_mb": round(memory.total / 2**20, 1),
        "process_rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
        "disk_free_gb": round(disk.free / GB, 2),
        "disk_total_gb": round(disk.total / GB, 2),
    }


def gpu_stats() -> list[dict[str, Any]] | None:
    """One entry per NVIDIA GPU, or None when NVML (nvidia-ml-py) or a driver is not present."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver or no GPU: NVML raises its own error types
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: float | None = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except Exception:  # not supported on every device (MIG slices)
                utilization = None
            gpus.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else str(name),
                    "utilization_percent": utilization,
                    "memory_used_mb": round(memory.used / 2**20, 1),
                    "memory_total_mb": round(memory.total / 2**20, 1),
                    "memory_percent": round(100.0 * memory.used / memory.total, 2) if memory.total else None,
                }
            )
        return gpus
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
