"""System: health, model status and model reload."""
