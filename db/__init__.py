"""db-conductor's database API.

``import db`` gives every function of the API as ``db.<name>``; see
:mod:`db.api` for the list, :mod:`db.exception` for the errors and
:mod:`db.context` for the request context each call takes.
"""

from db._config import configure
from db.api import *  # noqa: F403
from db.api import __all__ as _api_all

__all__ = [*_api_all, "configure"]
