"""Build MusicGen checkpoints with deterministic random weights, saved in the Hugging Face format.

``tiny`` is a few MB for tests; ``small``/``medium``/``large`` copy the real architectures (T5-base
text encoder, EnCodec 32 kHz at 50 frames per second) so that benchmarks cost what the real models cost.
"""

from __future__ import annotations

from pathlib import Path

import torch

SAMPLE_RATE = 32_000
CODEBOOK_SIZE = 2048

# (layers, width, heads, ffn) of the released decoders.
DECODERS = {
    "tiny": (2, 64, 4, 128),
    "small": (24, 1024, 16, 4096),
    "medium": (48, 1536, 24, 6144),
    "large": (48, 2048, 32, 8192),
}

_WORDS = (
    "a",
    "an",
    "and",
    "with",
    "of",
    "in",
    "for",
    "the",
    "to",
    "at",
    "bpm",
    "beat",
    "beats",
    "drum",
    "drums",
    "bass",
    "guitar",
    "piano",
    "synth",
    "strings",
    "violin",
    "cello",
    "flute",
    "sax",
    "trumpet",
    "organ",
    "pad",
    "lead",
    "vocal",
    "choir",
    "ambient",
    "lofi",
    "lo-fi",
    "hip",
    "hop",
    "jazz",
    "rock",
    "pop",
    "funk",
    "disco",
    "house",
    "techno",
    "trance",
    "dubstep",
    "classical",
    "orchestral",
    "cinematic",
    "epic",
    "acoustic",
    "electric",
    "electronic",
    "warm",
    "soft",
    "chill",
    "calm",
    "happy",
    "sad",
    "dark",
    "bright",
    "upbeat",
    "slow",
    "fast",
    "groove",
    "melody",
    "rhythm",
    "chords",
    "loop",
    "intro",
    "solo",
    "energetic",
    "relaxing",
    "dreamy",
    "retro",
    "80s",
    "90s",
    "minor",
    "major",
    "tempo",
    "reverb",
    "distorted",
    "heavy",
    "light",
)


def build_random_checkpoint(size: str, directory: Path, seed: int = 0) -> None:
    """Write config, weights, generation config and processor of a random model into ``directory``."""
    from transformers import (
        EncodecFeatureExtractor,
        GenerationConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
    )

    tokenizer = _build_tokenizer()
    config = _config(size, vocab_size=len(tokenizer))
    torch.manual_seed(seed)
    with torch.device("cpu"):
        model = MusicgenForConditionalGeneration(config).eval()
        # EnCodec's codebooks start as zeros (they are learnt by k-means): give every code its own vector.
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    model.generation_config = GenerationConfig(
        do_sample=True,
        guidance_scale=3.0,
        max_length=1500,
        top_k=250,
        decoder_start_token_id=CODEBOOK_SIZE,
        pad_token_id=CODEBOOK_SIZE,
        bos_token_id=CODEBOOK_SIZE,
    )
    model.save_pretrained(directory)
    extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0)
    MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(directory)


def _config(size: str, vocab_size: int):
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config

    layers, width, heads, ffn = DECODERS[size]
    tiny = size == "tiny"
    text = (
        T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
        if tiny
        else T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
    )
    audio = EncodecConfig(
        sampling_rate=SAMPLE_RATE,
        upsampling_ratios=[8, 5, 4, 4],  # hop of 640 samples: 50 frames per second
        target_bandwidths=[2.2],
        codebook_size=CODEBOOK_SIZE,
        codebook_dim=16 if tiny else 128,
        hidden_size=16 if tiny else 128,
        num_filters=4 if tiny else 64,
        num_lstm_layers=1 if tiny else 2,
        use_causal_conv=False,
        use_conv_shortcut=False,
        normalize=False,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=CODEBOOK_SIZE,
        num_hidden_layers=layers,
        hidden_size=width,
        num_attention_heads=heads,
        ffn_dim=ffn,
        num_codebooks=4,
        max_position_embeddings=2048,
        pad_token_id=CODEBOOK_SIZE,
        bos_token_id=CODEBOOK_SIZE,
    )
    return MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)


def _build_tokenizer():
    """A small T5 (unigram) tokenizer: whole music words, then single characters as fallback."""
    from transformers import T5Tokenizer

    letters = "abcdefghijklmnopqrstuvwxyz0123456789-,.'!?"
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(f"▁{word}", -4.0) for word in _WORDS]
    vocab += [(f"▁{ch}", -8.0) for ch in letters] + [(ch, -9.0) for ch in letters]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def random_decoder_model(width: int, heads: int, layers: int = 2, seed: int = 0):
    """An in-memory random MusicGen with tiny-random's text encoder and codec and a decoder of
    ``layers`` layers ``width`` wide in ``heads`` heads: production-shaped heads (64 wide) at a test's
    cost, where tiny-random's 16-wide heads would hide a kernel's bug in columns 16 and up."""
    import torch
    from transformers import MusicgenForConditionalGeneration

    config = _config("tiny", vocab_size=64)
    config.decoder.hidden_size, config.decoder.num_attention_heads = width, heads
    config.decoder.num_hidden_layers, config.decoder.ffn_dim = layers, 4 * width
    torch.manual_seed(seed)
    return MusicgenForConditionalGeneration(config).eval()
