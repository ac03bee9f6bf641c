"""The generation queue, its worker, the loaded engines and the periodic system sampler."""
