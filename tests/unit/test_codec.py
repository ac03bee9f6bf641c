"""EnCodec decoding in time chunks gives the whole-clip decode, with bounded activations."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import EncodecConfig, EncodecModel

from inference.backends.hf import load_musicgen
from inference.musicgen import codec, packed, polyphase
from inference.registry import resolve_checkpoint


@pytest.fixture(scope="module")
def model(model_cache_dir: Path):
    return load_musicgen(
        resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, torch.device("cpu")
    ).model


@pytest.mark.parametrize(
    "frames", [1, 37, codec.CHUNK_FRAMES + 2 * codec.MARGIN_FRAMES + 1, 3 * codec.CHUNK_FRAMES + 5]
)
def test_chunked_decode_matches_transformers_whole_clip_decode(model, frames: int) -> None:
    codes = torch.randint(0, 2048, (4, frames), generator=torch.Generator().manual_seed(frames))
    with torch.inference_mode():
        expected = model.audio_encoder.decode(codes[None, None], [None]).audio_values[0]
    actual = codec.decode_audio(model, codes, channels=1)
    assert actual.shape == expected.shape == (1, frames * 640)
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=1e-5)


def test_stereo_codes_interleave_left_and_right(model) -> None:
    codes = torch.randint(0, 2048, (8, 40), generator=torch.Generator().manual_seed(0))
    audio = codec.decode_audio(model, codes, channels=2)
    assert audio.shape == (2, 40 * 640)
    torch.testing.assert_close(audio[1:], codec.decode_audio(model, codes[1::2], channels=1))


@pytest.mark.parametrize(("frames", "channels", "chunks"), [(40, 1, 1), (40, 2, 2), (3 * 250 + 5, 2, 8)])
def test_each_decoded_chunk_is_reported(model, frames: int, channels: int, chunks: int) -> None:
    codes = torch.randint(0, 2048, (4 * channels, frames), generator=torch.Generator().manual_seed(1))
    seen: list[tuple[int, int]] = []
    audio = codec.decode_audio(
        model, codes, channels, on_chunk=lambda done, total: seen.append((done, total))
    )
    assert seen == [(i, chunks) for i in range(1, chunks + 1)]
    torch.testing.assert_close(audio, codec.decode_audio(model, codes, channels))


def test_a_raising_chunk_callback_stops_decoding(model) -> None:
    codes = torch.randint(0, 2048, (4, 3 * codec.CHUNK_FRAMES), generator=torch.Generator().manual_seed(2))
    seen: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        seen.append(done)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        codec.decode_audio(model, codes, 1, on_chunk=stop_after_first)
    assert seen == [1]


# The fast upsampling stack (inference/musicgen/polyphase.py) against transformers' own modules, on a
# codec with MusicGen's upsampling ratios (strides 8, 5, 4, 4: a hop of 640) and few channels.


def _small_codec(**overrides) -> EncodecModel:
    settings = {
        "sampling_rate": 32_000,
        "upsampling_ratios": [8, 5, 4, 4],
        "target_bandwidths": [2.2],
        "codebook_size": 64,
        "codebook_dim": 8,
        "hidden_size": 8,
        "num_filters": 2,
        "num_lstm_layers": 1,
        "use_causal_conv": False,
        "use_conv_shortcut": False,
        "normalize": False,
    }
    config = EncodecConfig(**(settings | overrides))
    torch.manual_seed(0)
    model = EncodecModel(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):  # the initial biases are zeros: make them count
                param.normal_(0.0, 0.1)
        for layer in model.quantizer.layers:
            layer.codebook.embed.normal_()
    return model


def _upsampling(model: EncodecModel) -> list[torch.nn.Module]:
    layers = list(model.decoder.layers)
    split = max(i for i, layer in enumerate(layers) if codec._has_lstm(layer)) + 1
    return layers[split:]


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    scale = expected.abs().max().item()
    assert scale > 0.01
    torch.testing.assert_close(actual, expected, atol=2e-6 * scale, rtol=1e-5)


@pytest.fixture(scope="module")
def small_codec() -> EncodecModel:
    return _small_codec()


def _small_tiles(monkeypatch: pytest.MonkeyPatch, min_steps: int) -> None:
    """Stages and tiles far smaller than the real ones: many tile edges inside every range."""
    monkeypatch.setattr(polyphase, "TILE_ELEMENTS", 96)
    monkeypatch.setattr(polyphase, "MIN_STEPS", min_steps)
    monkeypatch.setattr(polyphase, "WHOLE_WEIGHTS", 32 * 16 * 16)  # the first level runs whole


def _pack_every_transposed_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every transposed convolution as a product over prepacked weights, as the real codec's first one."""
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN: transposed convolutions run as convolutions")
    monkeypatch.setattr(polyphase, "PACKED_WEIGHTS", 0)


def _packed(stack: polyphase.UpsampleStack) -> list[bool]:
    ops = [op for stage in stack.stages for op in stage.ops]
    return [op.packed_weight is not None for op in ops if isinstance(op, polyphase._ConvTranspose)]


# (frames in the window, output samples asked for): the whole window, chunk edges inside frames,
# samples at either end of the signal, a single sample.
RANGES = [
    (1, None),
    (2, None),
    (7, None),
    (40, None),
    (40, (0, 640)),
    (40, (39 * 640, 40 * 640)),
    (40, (8 * 640, 32 * 640)),
    (40, (8 * 640 + 1, 32 * 640 - 3)),
    (40, (5 * 640 + 319, 5 * 640 + 320)),
    (40, (0, 1)),
    (40, (40 * 640 - 1, 40 * 640)),
]


@pytest.mark.parametrize("tiles", ["real", "small", "merged", "packed"])
@pytest.mark.parametrize(("frames", "wanted"), RANGES)
def test_fast_upsampling_equals_the_modules(small_codec, monkeypatch, tiles, frames, wanted) -> None:
    if tiles in {"small", "merged"}:  # small: one stage per level after the first; merged: two levels in one
        _small_tiles(monkeypatch, min_steps=4 if tiles == "small" else 1)
    if tiles == "packed":
        _pack_every_transposed_convolution(monkeypatch)
    layers = _upsampling(small_codec)
    stack = polyphase.build(layers)
    assert stack is not None
    assert stack.hop == 640
    assert _packed(stack) == [tiles == "packed"] * 4  # the small codec's weights are below the threshold
    shapes = [(len(stage.ops), stage.tile) for stage in stack.stages]
    if tiles == "small":
        assert shapes == [(3, None), (3, 12), (3, 24), (5, 48)]
    elif tiles == "merged":
        assert shapes == [(3, None), (6, 24), (5, 48)]
    states = torch.randn(1, 32, frames, generator=torch.Generator().manual_seed(frames))
    start, end = wanted or (0, frames * 640)
    with torch.inference_mode():
        expected = codec._run(layers, states)[..., start:end]
        actual = stack(states, *wanted) if wanted else stack(states)
    _close(actual, expected)


def test_an_empty_range_is_empty(small_codec) -> None:
    stack = polyphase.build(_upsampling(small_codec))
    with torch.inference_mode():
        assert stack(torch.randn(1, 32, 3), 700, 700).shape == (1, 1, 0)
        with pytest.raises(ValueError, match="samples"):
            stack(torch.randn(1, 32, 3), 0, 3 * 640 + 1)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("stride", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("causal", [False, True])
def test_each_transposed_convolution_equals_its_module(
    monkeypatch, stride: int, causal: bool, packed: bool
) -> None:
    from transformers.models.encodec.modeling_encodec import EncodecConvTranspose1d

    if packed:
        _pack_every_transposed_convolution(monkeypatch)
    config = EncodecConfig(use_causal_conv=causal, trim_right_ratio=1.0)
    torch.manual_seed(stride)
    module = EncodecConvTranspose1d(config, 6, 5, kernel_size=2 * stride, stride=stride).eval()
    with torch.no_grad():
        module.conv.bias.normal_()
    stack = polyphase.build([module])
    assert stack is not None
    assert stack.hop == stride
    assert _packed(stack) == [packed]
    states = torch.randn(1, 6, 11, generator=torch.Generator().manual_seed(stride))
    with torch.inference_mode():
        expected = module(states)
        assert expected.shape[-1] == 11 * stride
        _close(stack(states), expected)
        for start, end in [(0, 1), (1, 2 * stride + 1), (stride - 1, 5 * stride), (3, 11 * stride)]:
            _close(stack(states, start, end), expected[..., start:end])


def test_musicgens_first_transposed_convolution_runs_packed() -> None:
    """Its size in MusicGen's codec (1024 -> 512 channels, stride 8): the one whose weights oneDNN would
    otherwise reorder on every streamed piece."""
    from transformers.models.encodec.modeling_encodec import EncodecConvTranspose1d

    torch.manual_seed(8)
    module = EncodecConvTranspose1d(EncodecConfig(), 1024, 512, kernel_size=16, stride=8).eval()
    stack = polyphase.build([module])
    assert stack is not None
    assert _packed(stack) == [torch.backends.mkldnn.is_available()]
    states = torch.randn(1, 1024, 31, generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():
        expected = module(states)
        _close(stack(states), expected)
        _close(stack(states, 3 * 8 + 5, 28 * 8), expected[..., 3 * 8 + 5 : 28 * 8])


def test_a_packed_product_that_computes_wrong_is_not_used(small_codec, monkeypatch) -> None:
    """oneDNN's prepacked ops are torch internals: where they give other sums, the convolutions run."""
    _pack_every_transposed_convolution(monkeypatch)
    right = packed.product
    monkeypatch.setattr(packed, "product", lambda x, weight, bias: right(x, weight, bias) * 1.01)
    layers = _upsampling(small_codec)
    stack = polyphase.build(layers)
    assert stack is not None
    assert _packed(stack) == [False] * 4
    states = torch.randn(1, 32, 5, generator=torch.Generator().manual_seed(9))
    with torch.inference_mode():
        _close(stack(states), codec._run(layers, states))


def _lstm(size: int) -> torch.nn.LSTM:
    torch.manual_seed(size)
    return torch.nn.LSTM(size, size, 2).eval()


@pytest.mark.parametrize("size", [32, 1024])  # the test codec's width, and MusicGen's EnCodec's
def test_the_packed_lstm_gives_the_modules_results_bit_for_bit(size: int) -> None:
    """The LSTM over weights oneDNN reorders once instead of on every call (every streamed piece calls
    it): the module's outputs and states exactly, in one call and in pieces that carry the state."""
    lstm = _lstm(size)
    fast = packed.pack_lstm(lstm)
    assert (fast is not None) == torch.backends.mkldnn.is_available()
    if fast is None:
        return
    inputs = torch.randn(30, 1, size, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        for pieces in ([30], [1, 7, 22], [5] * 6):
            want_state = got_state = None
            at = 0
            for count in pieces:
                want, want_state = lstm(inputs[at : at + count], want_state)
                got, got_state = fast(inputs[at : at + count], got_state)
                assert torch.equal(got, want), pieces
                assert all(map(torch.equal, got_state, want_state)), pieces
                at += count


def test_an_lstm_packing_that_computes_differently_is_not_used(monkeypatch) -> None:
    """Like the packed products, torch internals: trusted only where they give the module's results."""
    right = packed.PackedLSTM.__call__

    def off(self, inputs, state=None):
        outputs, state = right(self, inputs, state)
        return outputs * (1 + 1e-6), state

    monkeypatch.setattr(packed.PackedLSTM, "__call__", off)
    lstm = _lstm(32)
    assert packed.pack_lstm(lstm) is None
    assert codec._recurrent(lstm) is lstm


def test_the_decoder_runs_its_lstm_packed_with_the_modules_audio(model, monkeypatch) -> None:
    """MusicGen's codec (tiny-random's) decoded whole and streamed through the packed LSTM: the audio the
    module's LSTM gives, bit for bit."""
    codes = torch.randint(0, 2048, (4, 60), generator=torch.Generator().manual_seed(6))

    def streamed() -> tuple[torch.Tensor, codec.StreamingDecoder]:
        decoder = codec.StreamingDecoder(model, 1)
        pieces = [decoder.push(codes[:, at : at + 1]) for at in range(60)]
        return torch.cat([*pieces, decoder.finish()], dim=-1), decoder

    whole = codec.decode_audio(model, codes, channels=1)
    pieces, decoder = streamed()
    assert isinstance(decoder._lstm, packed.PackedLSTM) == torch.backends.mkldnn.is_available()
    monkeypatch.setattr(codec, "_recurrent", lambda lstm: lstm)
    assert torch.equal(whole, codec.decode_audio(model, codes, channels=1))
    assert torch.equal(pieces, streamed()[0])


def test_new_lstm_weights_are_picked_up() -> None:
    model = SimpleNamespace(audio_encoder=_small_codec())
    codes = torch.randint(0, 64, (4, 30), generator=torch.Generator().manual_seed(7))
    codec.decode_audio(model, codes, channels=1)  # packs the LSTM
    lstm = next(m for m in model.audio_encoder.decoder.modules() if isinstance(m, torch.nn.LSTM))
    with torch.no_grad():
        lstm.weight_hh_l0.mul_(0.5)
    with torch.inference_mode():
        expected = model.audio_encoder.decode(codes[None, None], [None]).audio_values[0]
    _close(codec.decode_audio(model, codes, channels=1), expected)


@pytest.mark.parametrize(
    "frames", [1, 37, codec.CHUNK_FRAMES + 2 * codec.MARGIN_FRAMES + 1, 2 * codec.CHUNK_FRAMES + 3]
)
def test_fast_chunked_decode_equals_the_modules_whole_clip_decode(small_codec, monkeypatch, frames) -> None:
    model = SimpleNamespace(audio_encoder=small_codec)
    codes = torch.randint(0, 64, (4, frames), generator=torch.Generator().manual_seed(frames))
    with torch.inference_mode():
        expected = small_codec.decode(codes[None, None], [None]).audio_values[0]
    fast = codec.decode_audio(model, codes, channels=1)
    monkeypatch.setattr(codec, "FAST_UPSAMPLING", False)
    slow = codec.decode_audio(model, codes, channels=1)
    assert fast.shape == expected.shape == (1, frames * 640)
    _close(fast, expected)
    _close(fast, slow)


@pytest.mark.parametrize("pushes", [[1] * 60, [30, 1, 2, 27], [7] * 9])
def test_fast_streamed_pieces_equal_the_modules_whole_clip_decode(small_codec, monkeypatch, pushes) -> None:
    model = SimpleNamespace(audio_encoder=small_codec)
    frames = sum(pushes)
    codes = torch.randint(0, 64, (4, frames), generator=torch.Generator().manual_seed(3))
    decoder = codec.StreamingDecoder(model, 1, min_frames=5)
    pieces, at = [], 0
    for count in pushes:
        pieces.append(decoder.push(codes[:, at : at + count]))
        at += count
    pieces.append(decoder.finish())
    monkeypatch.setattr(codec, "FAST_UPSAMPLING", False)
    _close(torch.cat(pieces, dim=-1), codec.decode_audio(model, codes, channels=1))


def test_fast_decoding_leaves_the_codec_as_it_was(small_codec) -> None:
    model = SimpleNamespace(audio_encoder=small_codec)
    audio = torch.randn(1, 20 * 640, generator=torch.Generator().manual_seed(4)) * 0.1
    codes = codec.encode_audio(model, audio, channels=1)
    weights = {name: value.clone() for name, value in small_codec.state_dict().items()}
    codec.decode_audio(model, codes, channels=1)
    codec.StreamingDecoder(model, 1).push(codes)
    after = small_codec.state_dict()
    assert all(torch.equal(after[name], value) for name, value in weights.items())
    torch.testing.assert_close(codec.encode_audio(model, audio, channels=1), codes, rtol=0, atol=0)
    with torch.inference_mode():  # and the modules still run as themselves
        small_codec.decode(codes[None, None], [None])


def test_new_weights_are_picked_up(small_codec) -> None:
    model = SimpleNamespace(audio_encoder=_small_codec())
    codes = torch.randint(0, 64, (4, 30), generator=torch.Generator().manual_seed(5))
    before = codec.decode_audio(model, codes, channels=1)
    with torch.no_grad():
        _upsampling(model.audio_encoder)[-1].conv.bias.add_(1.0)
    after = codec.decode_audio(model, codes, channels=1)
    _close(after, before + 1.0)


@pytest.mark.parametrize("overrides", [{"norm_type": "time_group_norm"}, {"use_conv_shortcut": True}])
def test_stacks_it_does_not_know_run_through_the_modules(overrides) -> None:
    codec_model = _small_codec(**overrides)
    assert polyphase.build(_upsampling(codec_model)) is None
    codes = torch.randint(0, 64, (4, 12), generator=torch.Generator().manual_seed(6))
    with torch.inference_mode():
        expected = codec_model.decode(codes[None, None], [None]).audio_values[0]
    _close(codec.decode_audio(SimpleNamespace(audio_encoder=codec_model), codes, channels=1), expected)


@pytest.mark.parametrize(
    "overrides",
    [
        {"use_causal_conv": True},
        {"num_residual_layers": 2},
        {"pad_mode": "constant"},
        {"last_kernel_size": 4},
    ],
)
def test_other_layouts_equal_the_modules(overrides) -> None:
    layers = _upsampling(_small_codec(**overrides))
    stack = polyphase.build(layers)
    assert stack is not None
    states = torch.randn(1, 32, 9, generator=torch.Generator().manual_seed(7))
    with torch.inference_mode():
        expected = codec._run(layers, states)
        _close(stack(states), expected)
        for start, end in [(0, 3), (700, 5000), (9 * 640 - 5, 9 * 640)]:
            _close(stack(states, start, end), expected[..., start:end])
