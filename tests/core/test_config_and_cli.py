"""Configuration safety and the project commands."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engage import ConfigurationError, create_app
from engage.accounts.models import User
from engage.config import ProductionConfig
from engage.demo import DEMO_PASSWORD


class _Prod(ProductionConfig):
    # Nothing connects while the app is built, so these need not be running.
    SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://engage@127.0.0.1:9/engage"
    RATELIMIT_STORAGE_URI = "redis://127.0.0.1:9/0"
    SECRET_KEY = "x" * 48
    FIELD_ENCRYPTION_KEY = "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE="


def test_production_refuses_to_start_without_secret_key():
    class NoSecret(_Prod):
        SECRET_KEY = ""
        FIELD_ENCRYPTION_KEY = "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE="

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(NoSecret)


def test_production_refuses_to_start_without_field_key():
    class NoFieldKey(_Prod):
        SECRET_KEY = "x" * 48
        FIELD_ENCRYPTION_KEY = ""

    with pytest.raises(ConfigurationError, match="FIELD_ENCRYPTION_KEY"):
        create_app(NoFieldKey)


def test_production_refuses_sqlite_and_says_to_set_database_url():
    class OnSqlite(_Prod):
        SQLALCHEMY_DATABASE_URI = "sqlite:///engage.sqlite3"

    with pytest.raises(ConfigurationError, match="DATABASE_URL=postgresql"):
        create_app(OnSqlite)


def test_production_refuses_memory_rate_limits_and_says_to_set_redis():
    class InMemory(_Prod):
        RATELIMIT_STORAGE_URI = "memory://"

    with pytest.raises(ConfigurationError, match=r"RATELIMIT_STORAGE_URI=redis://.*engage\[redis\]"):
        create_app(InMemory)


def test_production_sends_hsts_and_secure_cookies():
    app = create_app(_Prod)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/support")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_seed_demo_is_safe_to_run_twice(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["engage", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output and "two-factor secret" in first.output
    count = db.session.scalar(select(func.count()).select_from(User))
    second = runner.invoke(args=["engage", "seed-demo"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == count


def test_demo_code_prints_current_code_in_development_only(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["engage", "seed-demo"])
    result = runner.invoke(args=["engage", "demo-code", "demo-admin"])
    assert result.exit_code == 0 and result.output.strip().isdigit()
    assert runner.invoke(args=["engage", "demo-code", "demo-member"]).exit_code != 0
    app.config["DEMO_COMMANDS_ENABLED"] = False
    refused = runner.invoke(args=["engage", "demo-code", "demo-admin"])
    assert refused.exit_code != 0 and "development only" in refused.output


def test_create_admin_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["engage", "create-admin", "--username", "alex",
                                 "--display-name", "Alex", "--password",
                                 "a long admin passphrase"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username_key == "alex"))
    assert user.needs_two_factor_setup
    weak = runner.invoke(args=["engage", "create-admin", "--username", "alex2",
                               "--display-name", "A", "--password", "password"])
    assert weak.exit_code != 0 and "common" in weak.output
