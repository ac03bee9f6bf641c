"""Device and precision resolution: ``auto``/cpu/cuda/mps x ``auto``/float32/bfloat16/float16/int8."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from inference.errors import DeviceUnavailableError, InvalidParameterError, UnsupportedPrecisionError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bfloat16", "float16", "int8")

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True, slots=True)
class Placement:
    """A resolved device (``cuda:0``, ``cpu``...) and precision name."""

    device: str
    precision: str

    @property
    def device_type(self) -> str:
        return self.device.split(":", 1)[0]

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the weights and activations (int8 computes in float32)."""
        return TORCH_DTYPES.get(self.precision, torch.float32)


def available_cpus(cgroup_root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc/self/cgroup")) -> int:
    """CPUs this process may keep busy: its affinity mask, capped by a cgroup CPU quota (a container's
    ``--cpus``), which torch's and OpenMP's defaults ignore; more threads than that only queue."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc)
    return max(1, min(cpus, int(quota))) if quota is not None else max(1, cpus)


def cgroup_cpu_quota(cgroup_root: Path, proc: Path) -> float | None:
    """The process's cgroup CPU quota in CPUs (v2 ``cpu.max`` or v1 ``cfs_quota_us``), None if unlimited."""
    directory = cgroup_root
    try:
        for line in proc.read_text().splitlines():
            if line.startswith("0::"):
                directory = cgroup_root / line[3:].strip().lstrip("/")
    except OSError:
        pass
    candidates = [
        (directory / "cpu.max", None),
        (cgroup_root / "cpu.max", None),
        (cgroup_root / "cpu" / "cpu.cfs_quota_us", cgroup_root / "cpu" / "cpu.cfs_period_us"),
    ]
    for quota_file, period_file in candidates:
        try:
            if period_file is None:
                quota, period = quota_file.read_text().split()[:2]
            else:
                quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    return None


def available_devices() -> list[str]:
    """Device types this machine can run on, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def supported_precisions(device_type: str) -> list[str]:
    """Precisions that run well on a device type, preferred first (``auto`` picks the first)."""
    # int8 weight quantisation pays on CPU (memory bound); GPUs use float16/bfloat16.
    if device_type == "cuda":
        return ["bfloat16", "float16", "float32"] if _cuda_bf16() else ["float16", "float32"]
    if device_type == "mps":
        return ["float16", "float32"]
    # bfloat16 and int8 cut the bytes read per step; float16 matmuls on CPU are emulated and slow.
    return ["float32", "bfloat16", "int8"]


def resolve_device(device: str) -> str:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N``/``mps`` into a concrete torch device string."""
    name = (device or "auto").strip().lower()
    kind, _, index = name.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise InvalidParameterError("device", f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if kind == "auto":
        kind = available_devices()[0]
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                "CUDA was requested but this machine has no usable NVIDIA GPU (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use device=auto or cpu"
            )
        ordinal = int(index or 0)
        if ordinal >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"cuda:{ordinal} was requested but only {torch.cuda.device_count()} GPU(s) are present"
            )
        return f"cuda:{ordinal}"
    if kind == "mps" and not _mps_available():
        raise DeviceUnavailableError("MPS was requested but this machine has no Apple GPU; use auto or cpu")
    return kind


def resolve_precision(precision: str, device: str, backend_precisions: tuple[str, ...] | None = None) -> str:
    """Pick or check a precision for a resolved device (and, if given, what the backend can do)."""
    name = (precision or "auto").strip().lower()
    if name not in PRECISIONS:
        raise InvalidParameterError(
            "precision", f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}"
        )
    device_type = device.split(":", 1)[0]
    allowed = [
        p for p in supported_precisions(device_type) if backend_precisions is None or p in backend_precisions
    ]
    if name == "auto":
        return allowed[0]
    if name not in allowed:
        raise UnsupportedPrecisionError(
            f"{name} is not available on {device_type} with this backend; choose one of: {', '.join(allowed)}"
        )
    return name


def resolve(device: str, precision: str, backend_precisions: tuple[str, ...] | None = None) -> Placement:
    """Resolve both at once."""
    resolved = resolve_device(device)
    return Placement(resolved, resolve_precision(precision, resolved, backend_precisions))


def device_name(device: str) -> str:
    """A human name for a resolved device: the GPU model, or the CPU."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return "Apple GPU (MPS)"
    return _cpu_model()


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else the machine type."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def _cuda_bf16() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
