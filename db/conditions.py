"""Condition objects for guarded writes (``db.constraint`` and friends).

``db.constraint(vm_state=db.equal_any("active", "error"),
task_state=db.not_equal("deleting"))`` describes the state a row must be
in for a write to go ahead; ``instance_destroy`` applies it in the same
UPDATE that soft-deletes the row, and raises ``ConstraintNotMet`` when the
row does not match.  The objects hold plain data only, so they cross RPC
unchanged (the conductor's codec has an extension type for each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class EqualityCondition:
    """The column must equal one of ``values``."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def clauses(self, column):
        """Return the SQL clauses (to be AND-ed) for ``column``."""
        from sqlalchemy import or_

        return [or_(*[column == value for value in self.values])]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.values == self.values

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.values))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.values)!r})"


class InequalityCondition(EqualityCondition):
    """The column must differ from every one of ``values``."""

    def clauses(self, column):
        """Return the SQL clauses (to be AND-ed) for ``column``."""
        return [column != value for value in self.values]


class Constraint:
    """A set of per-column conditions that all must hold."""

    def __init__(self, conditions: Mapping[str, EqualityCondition]) -> None:
        for key, condition in conditions.items():
            if not isinstance(condition, EqualityCondition):
                from db import exception

                raise exception.InvalidInput(
                    reason=f"constraint on {key!r} must be built with "
                    "equal_any() or not_equal()"
                )
        self.conditions = dict(conditions)

    def clauses(self, model) -> list:
        """Return the SQL clauses for ``model``'s columns."""
        from db import exception

        result = []
        for key, condition in self.conditions.items():
            column = getattr(model, key, None)
            if column is None or key not in model.__table__.columns:
                raise exception.InvalidColumn(
                    table=model.__tablename__, column=key
                )
            result.extend(condition.clauses(column))
        return result

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self) and other.conditions == self.conditions
        )

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.conditions)))

    def __repr__(self) -> str:
        return f"Constraint({self.conditions!r})"
