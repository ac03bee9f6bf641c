"""Export the text encoder, the decoder step and the decoder prefill to ONNX, quantise, and cache them
with a manifest.

``torch.onnx.export(dynamo=True)`` on the modules of :mod:`inference.export.modules`. int8 is ONNX
Runtime's dynamic quantisation of the decoder's weight matrices (per channel). The cache lives at
``<cache_dir>/onnx/<model>/<precision>/`` and is rebuilt when the export code, the library versions
or the checkpoint change (the manifest records all three).

The EnCodec decoder is not exported: the exporter unrolls ``nn.LSTM`` over the example's length, so
the graph would only decode clips of one fixed length. It runs in torch (a few % of the time).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

# 5: the decoder step's text inputs have a row per attending guidance half (2 with a negative prompt).
# 6: a decoder prefill graph (a window's known positions in one pass).
EXPORT_FORMAT = 6
PRECISIONS = ("float32", "int8")
TEXT_ENCODER = "text_encoder.onnx"
DECODER_STEP = "decoder_step.onnx"
DECODER_PREFILL = "decoder_prefill.onnx"
MANIFEST = "manifest.json"

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ExportedModel:
    """Paths of one exported variant and what its decoder step expects."""

    directory: Path
    precision: str
    layers: int
    heads: int
    head_dim: int
    num_codebooks: int

    @property
    def text_encoder(self) -> Path:
        return self.directory / TEXT_ENCODER

    @property
    def decoder_step(self) -> Path:
        return self.directory / DECODER_STEP

    @property
    def decoder_prefill(self) -> Path:
        return self.directory / DECODER_PREFILL


def ensure_exported(
    model: torch.nn.Module, checkpoint: Path, cache_dir: Path, name: str, precision: str
) -> ExportedModel:
    """The exported variant for ``checkpoint`` in ``precision``, exporting it first when absent or stale.

    ``model`` is the float32 transformers model loaded from ``checkpoint``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"ONNX export has no {precision}; choose one of {', '.join(PRECISIONS)}")
    target = cache_dir / "onnx" / _safe(name) / precision
    expected = _identity(checkpoint, precision)
    with _lock:
        if not _is_current(target, expected):
            _export(model, target, precision, expected)
    config = model.config.decoder
    return ExportedModel(
        directory=target,
        precision=precision,
        layers=config.num_hidden_layers,
        heads=config.num_attention_heads,
        head_dim=config.hidden_size // config.num_attention_heads,
        num_codebooks=config.num_codebooks,
    )


def _export(model: torch.nn.Module, target: Path, precision: str, identity: dict[str, object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{precision}-", dir=target.parent))
    started = time.perf_counter()
    try:
        float_dir = staging / "float32" if precision == "int8" else staging
        float_dir.mkdir(exist_ok=True)
        _export_float32(model, float_dir)
        if precision == "int8":
            for graph in (DECODER_STEP, DECODER_PREFILL):
                _quantize_int8(float_dir / graph, staging / graph)
            for path in float_dir.iterdir():
                if path.name.startswith(TEXT_ENCODER):  # the graph and its external data
                    shutil.move(path, staging / path.name)
            shutil.rmtree(float_dir)
        files = {
            p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(staging.iterdir())
            if p.is_file()
        }
        manifest = {**identity, "files": files, "export_seconds": round(time.perf_counter() - started, 1)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_float32(model: torch.nn.Module, directory: Path) -> None:
    from torch.export import Dim

    from inference.export.modules import DecoderPrefill, DecoderStep, TextEncoder

    model = model.float().eval()
    config = model.config.decoder
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    head_dim = config.hidden_size // heads
    text = Dim("text", min=1, max=512)
    ids = torch.ones((1, 6), dtype=torch.long)
    mask = torch.ones((1, 6), dtype=torch.long)
    # T5's SDPA path reshapes a transposed view, which the exporter rejects; eager attention is
    # the same function.
    attention = model.text_encoder.config._attn_implementation
    model.text_encoder.set_attn_implementation("eager")
    try:
        encoder = TextEncoder(model).eval()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                encoder,
                (ids, mask),
                directory / TEXT_ENCODER,
                dynamo=True,
                verbose=False,
                external_data=True,
                dynamic_shapes=({1: text}, {1: text}),
                input_names=["input_ids", "attention_mask"],
                output_names=["cross_keys", "cross_values"],
            )
            cross_keys, cross_values = encoder(ids, mask)
    finally:
        model.text_encoder.set_attn_implementation(attention)

    batch, slots = Dim("batch", min=1, max=2), Dim("slots", min=2, max=8192)
    rows = Dim("text_rows", min=1, max=2)  # 2: a negative prompt's row beside the prompt's
    past = [torch.zeros(2, heads, 8, head_dim) for _ in range(2 * layers)]
    cross = [torch.cat([cross_keys[i]] * 2) for i in range(layers)]
    cross += [torch.cat([cross_values[i]] * 2) for i in range(layers)]
    args = (
        torch.full((config.num_codebooks,), config.pad_token_id),
        torch.tensor(3),
        torch.zeros(2, 1, 1, cross_keys.shape[3]),
        *past,
        *cross,
    )
    names = ["tokens", "position", "cross_mask"] + [
        f"{kind}_{i}"
        for kind in ("past_key", "past_value", "cross_key", "cross_value")
        for i in range(layers)
    ]
    dynamic = (
        None,
        None,
        {0: rows, 3: text},
        tuple([{0: batch, 2: slots}] * (2 * layers) + [{0: rows, 2: text}] * (2 * layers)),
    )
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            DecoderStep(model).eval(),
            args,
            directory / DECODER_STEP,
            dynamo=True,
            verbose=False,
            external_data=True,
            dynamic_shapes=dynamic,
            input_names=names,
            output_names=["logits", "keys", "values"],
        )

    # The prefill: the step's text inputs, a window's known columns and the batch (by its length).
    prefill = DecoderPrefill(model).eval()
    frames = Dim("frames", min=2, max=prefill.positions.shape[0])
    args = (
        torch.randint(0, config.vocab_size, (config.num_codebooks, 5)),
        torch.zeros(2, dtype=torch.long),
        torch.zeros(2, 1, 1, cross_keys.shape[3]),
        *cross,
    )
    names = ["tokens", "rows", "cross_mask"] + [
        f"{kind}_{i}" for kind in ("cross_key", "cross_value") for i in range(layers)
    ]
    dynamic = ({1: frames}, {0: batch}, {0: rows, 3: text}, tuple([{0: rows, 2: text}] * (2 * layers)))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            prefill,
            args,
            directory / DECODER_PREFILL,
            dynamo=True,
            verbose=False,
            external_data=True,
            dynamic_shapes=dynamic,
            input_names=names,
            output_names=["keys", "values"],
        )


def _quantize_int8(source: Path, target: Path) -> None:
    """Per-channel int8 weights for every MatMul with a constant weight; activations quantised per call."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(
            source,
            target,
            op_types_to_quantize=["MatMul", "Gemm"],
            per_channel=True,
            # 7-bit weights: AVX2's u8 x s8 multiply-add saturates 16-bit pair sums with full-range int8.
            reduce_range=True,
            weight_type=QuantType.QInt8,
            use_external_data_format=True,
            extra_options={"MatMulConstBOnly": True},
        )


def _identity(checkpoint: Path, precision: str) -> dict[str, object]:
    """What the export depends on: our format, the libraries and the checkpoint's files."""
    import onnx
    import onnxruntime
    import transformers

    weights = [*sorted(checkpoint.glob("*.safetensors")), checkpoint / "config.json"]
    fingerprint = hashlib.sha256()
    for path in weights:
        stat = path.stat()
        fingerprint.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return {
        "format": EXPORT_FORMAT,
        "precision": precision,
        "checkpoint": str(checkpoint),
        "checkpoint_fingerprint": fingerprint.hexdigest(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def _is_current(target: Path, identity: dict[str, object]) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if any(manifest.get(key) != value for key, value in identity.items()):
        return False
    # Sizes are checked on every load; hashes are recorded for audits (hashing GBs on each load is too slow).
    files = manifest.get("files") or {}
    return bool(files) and all(
        (target / name).is_file() and (target / name).stat().st_size == entry["bytes"]
        for name, entry in files.items()
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name.strip("/"))
