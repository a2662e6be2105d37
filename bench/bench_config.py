"""The configuration bench/pages.py runs Engage with: production's, on SQLite as well.

Production refuses SQLite and per-process rate-limit counters (one process cannot see another's
sign-in attempts); the bench measures SQLite too, and its limits never matter (it only reads),
so it runs every production setting under another name, which those checks leave alone.
"""

from engage.config import ProductionConfig


class BenchProductionConfig(ProductionConfig):
    ENV_NAME = "production-bench"
