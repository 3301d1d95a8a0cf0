"""Claim modules: one (or a few) per paper; each module registers its claims on import."""
