"""Generations: submit, follow, list, search, play, favourite, download, delete."""
