"""The MusicGen algorithm shared by the fast backends: delay pattern, guidance, sampling, decode loop."""
