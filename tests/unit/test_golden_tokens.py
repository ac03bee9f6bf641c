"""Golden token snapshots: tiny-random's tokens for a fixed prompt and seed, per backend and precision.

Parity tests say two backends agree; these say a backend still makes exactly the tokens it made when
the snapshot was recorded, so a change to sampling, the delay pattern, the decode loop, the text or
decoder math, the random weights' builder or a kernel (the native library) fails here, naming the
first frame that changed. ``golden_tokens.json`` beside this file holds the tokens. Regenerate them
only on purpose, after a change meant to alter generated tokens::

    MUSICGENIE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -p no:cacheprovider tests/unit/test_golden_tokens.py

then read the diff of ``golden_tokens.json`` and commit it with the change that explains it.

Why temperature 0.1. tiny-random's logits are nearly flat (spread about 0.16), so at temperature 1
a draw is decided by the seed's noise more than by the model (a 1% error in the decoder would hardly
show) and flips on rounding-level near-ties among 250 near-equal candidates. At 0.1 the model
decides: int8 and float32, or with and without the negative prompt, give different tokens.

Which snapshots hold on every machine. Float rounding differs between CPUs (AVX-512 or AVX2 kernels
in oneDNN, MKL, fbgemm and ONNX Runtime's MLAS, vendor dispatch), and a rounding difference that
lands on a near-tie flips a token, after which the clip diverges. Our own loop's draw is especially
exposed: its exponential race gives each noise value to a *rank* of the top-k, so two candidates
whose logits swap order by an ulp swap their noise (the reference masks by token id and is not). So:

* ``PORTABLE`` variants (reference/torch/onnx float32, native int8) keep one snapshot for every
  machine. Checked on the AMD EPYC (AVX-512) development machine: torch's kernels forced down to
  AVX2 (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2``, the
  checkpoint rebuilt) move half the float32 logits by an ulp (at most 1.8e-7) and none of these
  tokens. Each variant's seed was chosen so that its cases survive 30-60 runs with relative noise of
  1e-6 on the logits and the text states at every step (several times that rounding); a random seed
  flips in 0-50% of such runs. Pick again the same way if you change the cases.
  The native library's SIMD builds give the same tokens with 1-3 threads: before commit 7820946
  the ``-march=native`` and ``x86-64-v3`` builds made at load, since then the installed
  ``avx512vnni`` and ``avx2`` builds (``avxvnni`` not run: this CPU lacks AVX-VNNI). Their integer
  dot products are exact and their float code is the same 256-bit code (the logits of ``avx2`` and
  ``avx512vnni`` are equal bit for bit). The scalar ``portable`` build differs by an ulp in half the
  logits, which flips the negative case here, so the native snapshot holds for the SIMD builds and
  the test skips on another. (A compiler that contracts float code differently, say clang, could
  round otherwise too: setup.py builds with ``-std=c11``, where gcc does not contract.)
* ``MACHINE_KEYED`` variants (torch int8 and bfloat16, onnx int8) depend on the instruction set.
  With torch's kernels forced to AVX2 as above, bfloat16 tokens changed (every sum rounds to 8 bits)
  and so did an int8 case at temperature 1 (activations are requantised: an ulp upstream moves a
  step). ONNX Runtime's int8 kernels (MLAS) are picked by CPUID, with no switch to check them here,
  and differ with VNNI (without it, AVX2's u8 x s8 products saturate). Their snapshots are keyed by
  :func:`machine_key` (CPU vendor and model, the feature flags that pick kernels, torch's CPU
  capability) and skip, saying so, on a machine with none of its own; record one with the command
  above. They guard a development machine; CI relies on the portable ones.
* Left out: reference bfloat16/int8 (the reference is the float32 oracle; its lower precisions are
  transformers' and torch's), float16 and every GPU variant (no GPU in CI).

Each engine is loaded once for the module, with 2 threads (torch's setting is restored afterwards).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams
from inference.errors import BackendUnavailableError, UnknownBackendError

GOLDEN = Path(__file__).with_name("golden_tokens.json")
UPDATE = os.environ.get("MUSICGENIE_UPDATE_GOLDEN") == "1"
REGENERATE = (
    "MUSICGENIE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -p no:cacheprovider "
    "tests/unit/test_golden_tokens.py"
)
THREADS = 2
PROMPT = "lo-fi beat with warm piano"
NEGATIVE = "distorted heavy drums"
DURATION = 1.0  # 50 frames, 53 decoder steps: well past the delay pattern's span
TEMPERATURE = 0.1  # see the module docstring; top-k 250 and guidance 3 stay at their defaults

# Variant -> seed (chosen as the module docstring says). Portable: one snapshot for every machine.
PORTABLE = {"reference:float32": 10, "torch:float32": 10, "onnx:float32": 10, "native:int8": 6}
MACHINE_KEYED = {"torch:int8": 10, "torch:bfloat16": 10, "onnx:int8": 10}
VARIANTS = {**PORTABLE, **MACHINE_KEYED}
# The native library's builds its portable snapshot holds for (None: a build that does not say).
NATIVE_SIMD_BUILDS = {None, "avx2", "avxvnni", "avx512vnni"}

# The feature flags (Linux /proc/cpuinfo names) that decide which kernels torch, fbgemm, oneDNN and
# ONNX Runtime run, so how they round.
KERNEL_FLAGS = (
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


@dataclass(frozen=True)
class Case:
    name: str
    negative_prompt: str | None = None

    def params(self, seed: int) -> GenerationParams:
        return GenerationParams(
            PROMPT,
            duration=DURATION,
            seed=seed,
            temperature=TEMPERATURE,
            negative_prompt=self.negative_prompt,
        )


CASES = [Case("sampled"), Case("negative", NEGATIVE)]


def _cpuinfo() -> dict[str, str]:
    """The first processor's entries of /proc/cpuinfo (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if not line.strip() and info:
            break
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip(), value.strip())
    return info


def machine_key() -> str:
    """What the machine-keyed snapshots depend on: CPU vendor and model, kernel flags, torch's dispatch."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    present = "+".join(flag for flag in KERNEL_FLAGS if flag in flags) or "no-flags"
    vendor = info.get("vendor_id", platform.machine())
    model = info.get("model name", platform.processor() or "unknown")
    return f"{vendor} {model} | {present} | torch {torch.backends.cpu.get_cpu_capability()}"


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("torch", "transformers", "onnxruntime", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _load_golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


def _snapshot(codes: np.ndarray) -> dict[str, Any]:
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    return {
        "shape": list(codes.shape),
        "sha256": hashlib.sha256(codes.tobytes()).hexdigest(),  # of the int64 bytes, C order
        "tokens": [" ".join(str(int(t)) for t in row) for row in codes],  # one line per codebook
    }


def _tokens(entry: dict[str, Any]) -> np.ndarray:
    return np.array([[int(t) for t in row.split()] for row in entry["tokens"]], dtype=np.int64)


def _slot(golden: dict[str, Any], variant: str) -> dict[str, Any] | None:
    """Where ``variant``'s snapshots for this machine live (None: none recorded for it)."""
    entry = golden.get("variants", {}).get(variant)
    if entry is not None and variant in MACHINE_KEYED:
        entry = entry.get("machines", {}).get(machine_key())
    return entry


def _record(variant: str, case: Case, codes: np.ndarray) -> None:
    golden = _load_golden()
    golden["about"] = (
        "Golden tokens of tests/unit/test_golden_tokens.py (tiny-random, 2 threads): see its docstring. "
        f"Regenerate only on purpose: {REGENERATE}"
    )
    variants = golden.setdefault("variants", {})
    entry = variants.setdefault(variant, {})
    if variant in MACHINE_KEYED:
        entry = entry.setdefault("machines", {}).setdefault(machine_key(), {})
    entry["seed"] = VARIANTS[variant]
    entry["recorded_with"] = _versions()
    entry.setdefault("cases", {})[case.name] = _snapshot(codes)
    golden["variants"] = dict(sorted(variants.items()))
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")


def _describe(params: GenerationParams) -> str:
    negative = f", negative_prompt={params.negative_prompt!r}" if params.negative_prompt else ""
    return (
        f"prompt={params.prompt!r}{negative}, seed={params.seed}, duration={params.duration}, "
        f"temperature={params.temperature}, top_k={params.top_k}, top_p={params.top_p}, "
        f"cfg_coef={params.cfg_coef}"
    )


def _mismatch(variant: str, case: Case, slot: dict[str, Any], got: np.ndarray) -> str:
    expected = slot["cases"][case.name]
    actual = _snapshot(got)
    lines = [
        f"{variant} {case.name}: the tokens differ from the golden snapshot "
        f"({_describe(case.params(VARIANTS[variant]))}).",
        f"  expected shape {expected['shape']} sha256 {expected['sha256'][:16]}",
        f"  actual   shape {actual['shape']} sha256 {actual['sha256'][:16]}",
    ]
    want = _tokens(expected)
    if want.shape == got.shape:
        differ = np.argwhere(want != got)
        frame = int(differ[:, 1].min())
        # The delay pattern samples codebook b of frame f at step f + b: the first change in decoding order.
        book, at = min((int(b) + int(f), int(b), int(f)) for b, f in differ)[1:]
        lines.append(
            f"  {len(differ)} of {want.size} tokens differ, from frame {frame}; first in decoding order: "
            f"codebook {book} of frame {at} (step {at + book}); a sampled clip diverges after it"
        )
        shown = slice(max(0, frame - 2), frame + 6)
        lines.append(f"  expected frames {shown.start}..: {want[:, shown].tolist()}")
        lines.append(f"  actual   frames {shown.start}..: {got[:, shown].tolist()}")
    else:
        lines.append(f"  expected first frames: {want[:, :6].tolist()}")
        lines.append(f"  actual   first frames: {got[:, :6].tolist()}")
    recorded, now = slot.get("recorded_with", {}), _versions()
    changed = {
        name: f"{recorded.get(name)} -> {version}"
        for name, version in now.items()
        if recorded.get(name) != version
    }
    if changed:
        lines.append(f"  libraries changed since the snapshot was recorded: {changed}")
    if variant in MACHINE_KEYED:
        lines.append(f"  this machine's snapshot: {machine_key()}")
    lines.append(
        "If the change is intended (sampling, the decode loop, the weights or a kernel changed on purpose), "
        f"regenerate the snapshots with\n    {REGENERATE}\nthen review the diff of {GOLDEN.name} and commit "
        "it with the change. If not, something changed the generated tokens: find it before merging."
    )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def threads():
    before = torch.get_num_threads()
    yield THREADS
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, model_cache_dir: Path, threads: int):
    """(variant name, its engine), loaded once for the module."""
    name = request.param
    if name in MACHINE_KEYED and not UPDATE and _slot(_load_golden(), name) is None:
        pytest.skip(
            f"no {name} snapshot for this machine ({machine_key()}): its tokens depend on the CPU's "
            f"kernels (see this module's docstring); record one with {REGENERATE}"
        )
    backend, precision = name.split(":")
    config = EngineConfig(
        model="tiny-random",
        backend=backend,
        device="cpu",
        precision=precision,
        threads=threads,
        cache_dir=str(model_cache_dir),
    )
    try:
        engine = Engine.load(config)
    except (UnknownBackendError, BackendUnavailableError) as exc:  # the onnx extra, the native library
        pytest.skip(f"{name} is not available here: {exc}")
    if backend == "native":
        # Private on purpose: which build of the library was loaded decides how it rounds.
        build = getattr(getattr(engine._loaded.backend, "step", None), "variant", None)
        if build not in NATIVE_SIMD_BUILDS:
            engine.unload()
            pytest.skip(f"the native snapshot holds for its SIMD builds; the {build} build rounds otherwise")
    yield name, engine
    engine.unload()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_tokens_match_the_golden_snapshot(variant: tuple[str, Engine], case: Case) -> None:
    name, engine = variant
    codes = np.ascontiguousarray(engine.generate(case.params(VARIANTS[name])).codes, dtype=np.int64)
    if UPDATE:
        if os.environ.get("CI"):
            pytest.fail("golden snapshots are regenerated on purpose on a development machine, never in CI")
        _record(name, case, codes)
        pytest.skip(f"recorded {name} {case.name}: review the diff of {GOLDEN.name} and commit it")
    slot = _slot(_load_golden(), name)
    if slot is None or case.name not in slot.get("cases", {}):
        pytest.fail(f"{name} has no {case.name} snapshot in {GOLDEN.name}; record it with {REGENERATE}")
    if slot.get("seed") != VARIANTS[name]:
        pytest.fail(
            f"{name}'s snapshot was recorded with seed {slot.get('seed')}, not {VARIANTS[name]}: regenerate"
        )
    if _snapshot(codes)["sha256"] != slot["cases"][case.name]["sha256"]:
        pytest.fail(_mismatch(name, case, slot, codes), pytrace=False)
