"""Fixtures shared by the tests of ``tests/db`` (see ``tests/conftest.py``
for ``target``, ``database``, ``api`` and the contexts)."""

from __future__ import annotations

import pytest


@pytest.fixture
def local_database(target, database):
    """The emptied database, on the local targets only.

    For tests that drive the backend directly (threads, processes,
    internals): on the RPC targets they would only repeat a local run.
    """
    if target[2] != "local":
        pytest.skip("concurrency tests run on the local targets")
    return database
