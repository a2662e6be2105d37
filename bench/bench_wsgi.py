"""gunicorn entry point for bench/pages.py (see bench_config.py)."""

from bench_config import BenchProductionConfig

from engage import create_app

app = create_app(BenchProductionConfig)
