"""The decoder step run by the native library: our weights in per-row int8, one C call per step."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

import torch

from inference.musicgen.decoder import DecoderTrack, MusicgenDecoderStep
from inference.musicgen.linear import RowInt8Linear, cpu_has_bfloat16
from inference.native import pages
from inference.native.library import (
    ERR_CPU,
    KEY_TILE,
    MAX_ROWS,
    PHASES,
    WEIGHTS_OFFSET_128,
    Config,
    Layer,
    Matrix,
    NativeUnavailableError,
    Norm,
    Track,
    Weights,
    load_library,
    weight_blocks,
)


def _address(t: torch.Tensor) -> int:
    return t.data_ptr()


def _norm(pair: tuple[torch.Tensor, torch.Tensor]) -> Norm:
    return Norm(_address(pair[0]), _address(pair[1]))


def _matrix(linear: object) -> Matrix:
    assert isinstance(linear, RowInt8Linear)
    return Matrix(_address(linear.qweight), _address(linear.scale), linear.out_features, linear.in_features)


def _gather(linears: list[RowInt8Linear]) -> torch.Tensor:
    """Every matrix's bytes moved into one buffer on huge pages (:mod:`~inference.native.pages`), each
    matrix's ``qweight`` a view of it, 64-byte aligned; one at a time, so memory grows by one matrix."""
    sizes = [-(-linear.qweight.numel() // 64) * 64 for linear in linears]
    buffer = pages.empty((sum(sizes),), torch.int8)
    start = 0
    for linear, size in zip(linears, sizes, strict=True):
        view = buffer[start : start + linear.qweight.numel()].view(linear.qweight.shape)
        linear.qweight = view.copy_(linear.qweight)
        start += size
    return buffer


class NativeDecoderStep(MusicgenDecoderStep):
    """``logits = step(tokens, position)`` with every layer in one call into the native library.

    Weights, caches and text keys/values are torch tensors laid out as in :class:`MusicgenDecoderStep`
    (which prepares them per request); the library borrows them (see ``csrc/musicgen_step.h``). The
    weights' bytes are stored the way the loaded build reads them, in its row blocks
    (:meth:`RowInt8Linear.encode`), all in one buffer and each track's cache in its own, on huge pages
    where Linux gives them (:mod:`~inference.native.pages`). Each track's logits are a buffer of its
    own that its next step overwrites.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        threads: int,
        max_steps: int,
        consume: bool = False,
        variant: str | None = None,
        layers: Iterable[torch.nn.Module] | None = None,
    ) -> None:
        eps = float(model.decoder.model.decoder.layer_norm.eps)
        self._buffers = pages.Recycler()  # the tracks' caches: reused while requests follow each other
        super().__init__(
            model,
            torch.device("cpu"),
            torch.float32,
            "int8-rows",
            max_steps=max_steps,
            consume=consume,
            layers=layers,
        )
        self.lib = load_library(variant)
        self.variant = self.lib.mg_variant().decode()
        offset = 128 if self.lib.mg_weight_encoding() == WEIGHTS_OFFSET_128 else 0
        blocks = weight_blocks(self.lib)
        prefill_dtype = torch.bfloat16 if cpu_has_bfloat16() else torch.float32
        linears = [self.lm_heads]
        for layer in self.layers:
            linears += [layer.qkv, layer.self_out, layer.cross_q, layer.cross_out, layer.fc1, layer.fc2]
        for linear in linears:
            assert isinstance(linear, RowInt8Linear)
            linear.encode(offset, blocks)
            linear.compute_dtype = prefill_dtype  # torch reads them for a window's prefill only
        self._weight_bytes = _gather(linears)
        self._layer_structs = (Layer * len(self.layers))(
            *(
                Layer(
                    _norm(layer.self_ln),
                    _matrix(layer.qkv),
                    _matrix(layer.self_out),
                    _norm(layer.cross_ln),
                    _matrix(layer.cross_q),
                    _matrix(layer.cross_out),
                    _norm(layer.ffn_ln),
                    _matrix(layer.fc1),
                    _matrix(layer.fc2),
                )
                for layer in self.layers
            )
        )
        weights = Weights(
            self._layer_structs,
            _norm(self.final_ln),
            _matrix(self.lm_heads),
            _address(self.embed),
            _address(self.positions),
        )
        ffn = self.layers[0].fc1.out_features
        config = Config(
            len(self.layers),
            self.hidden,
            self.heads,
            ffn,
            self.num_codebooks,
            self.embed.shape[1],
            self.positions.shape[0],
            eps,
            threads,
        )
        handle = ctypes.c_void_p()
        status = self.lib.mg_model_new(ctypes.byref(config), ctypes.byref(weights), ctypes.byref(handle))
        if status == ERR_CPU:
            raise NativeUnavailableError(
                f"the native step's {self.variant} build cannot run here: the OS did not grant this process "
                "AMX's tile state"
            )
        if status != 0:
            raise NativeUnavailableError(
                f"the native step cannot run this model (status {status}): it needs hidden, ffn and "
                f"output sizes that are multiples of 32 and heads a multiple of 8 wide (hidden "
                f"{self.hidden}, ffn {ffn}, heads {self.heads})"
            )
        self.handle = handle.value
        self._release = weakref.finalize(self, self.lib.mg_model_free, ctypes.c_void_p(self.handle))
        self._rows = MAX_ROWS

    @property
    def threads(self) -> int:
        return int(self.lib.mg_model_threads(self.handle))

    def profile(self, enable: bool) -> dict[str, float]:
        """Time the steps' phases from now on (or stop); returns the seconds spent per phase
        (:data:`~inference.native.library.PHASES`) since the last call, which restarts the counts."""
        spent = (ctypes.c_uint64 * len(PHASES))()
        self.lib.mg_profile(self.handle, int(enable), spent)
        return {phase: ns / 1e9 for phase, ns in zip(PHASES, spent, strict=True)}

    def _empty_cache(self, steps: int, rows: int = 2) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The self-attention cache in int8, one scale per key or value row, in the library's tiles (only
        the library reads or writes it: ``mg_step``, ``mg_cache_store``).

        Always two rows: the library lays a track's cache out for both guidance halves; slots are
        rounded up to whole tiles.
        """
        slots = -(-(steps + 1) // KEY_TILE) * KEY_TILE
        shape = (len(self.layers), 2, 2, self.heads, slots, self.head_dim)
        return self._buffers.zeros(shape, torch.int8), self._buffers.zeros(shape[:-1], torch.float32)

    def _attach(self, track: DecoderTrack) -> DecoderTrack:
        """The track as the library sees it, with a logits buffer of its own; each step sets its tokens
        and position."""
        native = NativeTrack(**{field.name: getattr(track, field.name) for field in fields(track)})
        native.logits = torch.empty(native.batch, self.num_codebooks, self.vocab)
        native.struct = Track(
            tokens=None,
            position=0,
            rows=native.batch,
            text_rows=native.cross_rows,
            cache=_address(native.cache),
            cache_scales=_address(native.cache_scales),
            slots=native.cache.shape[4],
            text=_address(native.cross),
            text_mask=_address(native.cross_mask),
            text_batch=native.cross.shape[2],
            max_text=native.cross.shape[4],
            text_len=native.text_len,
            logits=_address(native.logits),
        )
        return native

    def prefill_track(self, track: DecoderTrack, tokens: torch.Tensor) -> None:
        """The window's known columns in one torch pass (on the step's threads; the pool sleeps)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            super().prefill_track(track, tokens)
        finally:
            torch.set_num_threads(threads)

    def _keep(self, track: DecoderTrack, index: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """A prefill's keys/values ``[batch, heads, P, head_dim]`` into the cache, quantised by the library
        as its step quantises its own."""
        assert isinstance(track, NativeTrack)
        keys, values = (t.to(torch.float32).contiguous() for t in (keys, values))
        status = self.lib.mg_cache_store(
            self.handle,
            ctypes.byref(track.struct),
            index,
            _address(keys),
            _address(values),
            keys.shape[2],
        )
        if status != 0:
            raise RuntimeError(f"native cache store failed (status {status}, {keys.shape[2]} positions)")

    def __call__(
        self, tokens: torch.Tensor, position: int | torch.Tensor, static: bool = False
    ) -> torch.Tensor:
        """Logits of the :meth:`start` request, in its buffer (the next step overwrites them)."""
        return self.step_tracks([self.track], [tokens], [position])[0]

    def step_tracks(
        self,
        tracks: Sequence[DecoderTrack],
        tokens: Sequence[torch.Tensor],
        positions: Sequence[int | torch.Tensor],
    ) -> list[torch.Tensor]:
        """One call into the library per :data:`MAX_ROWS` rows; each track's logits are the same, bit for
        bit, as alone. They live in the track's buffer, which its next step overwrites."""
        keep = [
            t if t.dtype == torch.long and t.is_contiguous() else t.to(torch.long).contiguous()
            for t in tokens
        ]
        group: list[NativeTrack] = []
        rows = 0
        for track, tok, position in zip(tracks, keep, positions, strict=True):
            assert isinstance(track, NativeTrack), "a track of this step's own (start or open)"
            if rows + track.batch > self._rows:
                self._run(group)
                group, rows = [], 0
            track.struct.tokens = tok.data_ptr()
            track.struct.position = int(position)
            group.append(track)
            rows += track.batch
        self._run(group)
        return [track.logits for track in tracks]  # type: ignore[attr-defined]

    def _run(self, tracks: list[NativeTrack]) -> None:
        if not tracks:
            return
        array = (Track * len(tracks))(*(track.struct for track in tracks))
        if self.lib.mg_step(self.handle, array, len(tracks)) != 0:
            where = ", ".join(f"position {t.struct.position} of {t.struct.slots} cache slots" for t in tracks)
            raise RuntimeError(f"native step failed ({where})")


@dataclass
class NativeTrack(DecoderTrack):
    """A :class:`DecoderTrack` with the library's view of it and its logits buffer."""

    logits: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    struct: Track = field(default_factory=Track)
