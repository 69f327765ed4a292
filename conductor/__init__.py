"""The conductor: the ``db`` API served over RPC.

Compute nodes call :mod:`conductor.rpcapi` (or ``db`` itself, with
``db_backend = conductor``); the conductor daemon (:mod:`conductor.cmd`,
running :class:`conductor.service.ConductorService`) runs each call
against the SQLAlchemy backend through :mod:`conductor.manager`.  The
wire format is :mod:`conductor.codec`; the carriers are in
:mod:`conductor.drivers`; options in :mod:`conductor.opts`.
"""
