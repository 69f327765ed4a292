"""The SQLAlchemy backend: every function of the database API.

This module only gathers the names; the functions live in one module per
resource group beside it.  Importing it fails if any spec function is
missing, and ``tests/unit/test_api_surface.py`` checks that the names here
are exactly the spec's.
"""

from __future__ import annotations

from db import conditions as _conditions
from db.api import __all__ as _spec_names
from db.sqlalchemy.aggregates import *  # noqa: F403
from db.sqlalchemy.block_devices import *  # noqa: F403
from db.sqlalchemy.compute import *  # noqa: F403
from db.sqlalchemy.consoles import *  # noqa: F403
from db.sqlalchemy.dns import *  # noqa: F403
from db.sqlalchemy.fixed_ips import *  # noqa: F403
from db.sqlalchemy.flavors import *  # noqa: F403
from db.sqlalchemy.floating_ips import *  # noqa: F403
from db.sqlalchemy.instance_extras import *  # noqa: F403
from db.sqlalchemy.instances import *  # noqa: F403
from db.sqlalchemy.misc import *  # noqa: F403
from db.sqlalchemy.network import *  # noqa: F403
from db.sqlalchemy.quotas import *  # noqa: F403
from db.sqlalchemy.security_groups import *  # noqa: F403
from db.sqlalchemy.storage import *  # noqa: F403
from db.sqlalchemy.volumes import *  # noqa: F403


def constraint(**conditions):
    """Return a constraint object suitable for use with some updates."""
    return _conditions.Constraint(conditions)


def equal_any(*values):
    """Return an equality condition object suitable for use in a constraint.

    Equal_any conditions require that a model object's attribute equal any
    one of the given values.
    """
    return _conditions.EqualityCondition(values)


def not_equal(*values):
    """Return an inequality condition for use in a constraint.

    Not_equal conditions require that a model object's attribute differs
    from all of the given values.
    """
    return _conditions.InequalityCondition(values)


_missing = [name for name in _spec_names if name not in globals()]
if _missing:
    raise ImportError(
        "db.sqlalchemy.api lacks spec functions: " + ", ".join(_missing)
    )
del _missing

__all__ = list(_spec_names)
