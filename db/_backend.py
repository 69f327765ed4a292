"""The backend behind the ``db`` facade, loaded on first use.

``db_backend`` names it: ``sqlalchemy`` imports ``db.sqlalchemy.api`` and
``conductor`` imports ``conductor.rpcapi``.  The choice is read when the
first function is called, not at import, so a program can set its options
(or call :func:`db.configure`) after ``import db``.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

from db import exception, options

BACKENDS = {
    "sqlalchemy": "db.sqlalchemy.api",
    "conductor": "conductor.rpcapi",
}


class LazyPluggable:
    """Forward attribute access to the backend module named by an option."""

    def __init__(self, pivot: str, backends: dict[str, str]) -> None:
        self._pivot = pivot
        self._backends = backends
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def _load(self) -> ModuleType:
        with self._lock:
            if self._module is None:
                name = getattr(options.CONF, self._pivot)
                if name not in self._backends:
                    raise exception.InvalidBackend(
                        backend=name, choices=", ".join(self._backends)
                    )
                self._module = importlib.import_module(self._backends[name])
            return self._module

    def reset(self) -> None:
        """Forget the loaded backend; the next call reads the option."""
        with self._lock:
            self._module = None

    @property
    def backend_name(self) -> str:
        return getattr(options.CONF, self._pivot)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module or self._load(), name)


IMPL = LazyPluggable("db_backend", BACKENDS)
