"""Building blocks every domain may use, and the site's own pages (home, health, safety)."""

from __future__ import annotations

from flask import Flask

from engage.core import assets, cli, page_cache, personal_data, storage, tasks, views, wiring


def init_app(app: Flask) -> None:
    assets.init_app(app)  # hashed, compressed static files; static_url() in templates
    storage.init_app(app)  # receipts and backups: a folder or S3 (STORAGE_BACKEND)
    app.register_blueprint(views.bp)
    # Pages that show no data are the same for everyone signed out: rendered once per process.
    for endpoint in ("core.home", "core.support", "core.leaving_quickly"):
        page_cache.cache_public_page(app, endpoint)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "vacuum_anonymous_tables", tasks.vacuum_anonymous, every=24 * 60 * 60)
    wiring.add_command(app, cli.create_bucket_command)
    wiring.add_job(app, "send_outbox", tasks.send_outbox, every=0, after_others=True)
