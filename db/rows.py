"""The rows the database API returns.

A :class:`Row` is a plain ``dict`` that also answers attribute access, so
``inst["host"]``, ``inst.host``, ``inst.get("host")``, ``"host" in inst``
and ``inst.items()`` all work, as they did on the original's ORM objects.
Rows are built inside the database session, with the relationships their
function documents already nested (``inst["instance_type"]["name"]``);
nothing is loaded lazily afterwards, so the same value can be pickled,
compared, or sent through the conductor and rebuilt unchanged.
"""

from __future__ import annotations

from typing import Any


class Row(dict):
    """A result row: a dict whose keys can also be read as attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Row({dict.__repr__(self)})"

    def __reduce__(self):
        return (type(self), (dict(self),))
