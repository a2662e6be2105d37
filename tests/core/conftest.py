"""The migration tests' fixtures (a database of their own), for the data migration tests here."""

from tests.test_migrations import (  # noqa: F401 - fixtures used by name
    empty_database_url,
    keep_logging,
    migration_app,
)
