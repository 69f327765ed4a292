"""The exceptions of the database API.

Callers branch on these classes, locally and through the conductor, so the
names are those the original API used.  Every class formats its message
from keyword arguments (``msg_fmt % kwargs``) and keeps the arguments in
``.kwargs``; that pair is what crosses RPC, and the conductor's client
rebuilds the same class from it.  Only classes defined in this module are
ever rebuilt from wire data.

Hierarchy (abridged)::

    DBConductorError
     +-- NotFound ............. <Thing>NotFound, NoMore* pools
     +-- Invalid .............. Invalid<Thing>, InvalidUUID, MarkerNotFound
     +-- Duplicate ............ <Thing>Exists, DBDuplicateEntry
     +-- NotAuthorized ........ AdminRequired
     +-- DBError .............. DBDeadlock, DBConnectionError
     +-- ConstraintNotMet, OverQuota, TaskAlreadyRunning, ...
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)


class DBConductorError(Exception):
    """Base class: a message template filled from keyword arguments.

    ``message`` overrides the template.  If the template and the kwargs do
    not fit, the template is used as it is, and the mismatch is logged once
    per class, so a wrong raise never hides the original error.
    """

    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                LOG.warning(
                    "%s raised with kwargs %s that do not fit its template",
                    type(self).__name__,
                    sorted(kwargs),
                )
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self) -> str:
        """Return the message alone, without class name or traceback."""
        return self.message

    def __reduce__(self):
        return _rebuild, (type(self), self.message, self.kwargs)


def _rebuild(cls, message, kwargs):
    exc = cls.__new__(cls)
    exc.kwargs = dict(kwargs)
    exc.message = message
    Exception.__init__(exc, message)
    return exc


def lookup(name: str) -> type[DBConductorError] | None:
    """Return the exception class of this module called ``name``, if any.

    The conductor's client uses this to rebuild remote errors: only
    subclasses of :class:`DBConductorError` defined here qualify, so wire
    data can never name an arbitrary class.
    """
    cls = globals().get(name)
    if (
        isinstance(cls, type)
        and issubclass(cls, DBConductorError)
        and cls.__module__ == __name__
    ):
        return cls
    return None


class NotFound(DBConductorError):
    msg_fmt = "Resource could not be found."
    code = 404


class NotAuthorized(DBConductorError):
    msg_fmt = "Not authorized."
    code = 403


class AdminRequired(NotAuthorized):
    msg_fmt = "User does not have admin privileges"


class Invalid(DBConductorError):
    msg_fmt = "Unacceptable parameters."
    code = 400


class Duplicate(DBConductorError):
    msg_fmt = "Resource already exists."
    code = 409


class DBError(DBConductorError):
    """A database error that has no more specific class."""

    msg_fmt = "Database error: %(reason)s"


class DBDuplicateEntry(Duplicate):
    """A unique constraint was violated; ``columns`` names its columns."""

    msg_fmt = "Duplicate entry for %(columns)s."


class DBDeadlock(DBError):
    msg_fmt = "Database deadlock detected: %(reason)s"


class DBConnectionError(DBError):
    msg_fmt = "Database connection failed: %(reason)s"


class DBNotAllowed(DBConductorError):
    msg_fmt = (
        "%(binary)s attempted direct database access which is not "
        "allowed by policy"
    )
    code = 403


class InvalidBackend(Invalid):
    msg_fmt = "Invalid db_backend %(backend)s: choose one of %(choices)s."


class InvalidInput(Invalid):
    msg_fmt = "Invalid input received: %(reason)s"


class InvalidUnicodeParameter(Invalid):
    msg_fmt = (
        "Invalid Parameter: Unicode is not supported by the current "
        "database."
    )


class InvalidUUID(Invalid):
    msg_fmt = "Expected a uuid but received %(uuid)s."


class InvalidID(Invalid):
    msg_fmt = "Invalid ID received %(id)s."


class InvalidFilter(Invalid):
    msg_fmt = "Unknown filter %(filter)s: valid filters are %(valid)s."


class InvalidColumn(Invalid):
    msg_fmt = "%(table)s has no column %(column)s."


class InvalidValue(Invalid):
    msg_fmt = "Invalid value for %(column)s: %(reason)s"


class InvalidReadDeleted(Invalid):
    msg_fmt = (
        "read_deleted can only be one of 'no', 'yes' or 'only', "
        "not %(read_deleted)r."
    )


class InvalidSortKey(Invalid):
    msg_fmt = "Sort key supplied was not valid."


class InvalidSortDir(Invalid):
    msg_fmt = "Sort direction must be 'asc' or 'desc', not %(sort_dir)r."


class MarkerNotFound(NotFound):
    msg_fmt = "Marker %(marker)s could not be found."


class InvalidCidr(Invalid):
    msg_fmt = "Invalid CIDR %(cidr)s: %(reason)s"


class InvalidIpAddress(Invalid):
    msg_fmt = "%(address)s is not a valid IP address."


class InvalidRequest(Invalid):
    """A remote call named no known function or passed wrong arguments."""

    msg_fmt = "Invalid request: %(reason)s"


class ConstraintNotMet(DBConductorError):
    msg_fmt = "Constraint not met."
    code = 412


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class InstanceInvalidState(Invalid):
    msg_fmt = (
        "Instance %(instance_uuid)s in %(attr)s %(state)s. Cannot "
        "%(method)s while the instance is in this state."
    )


class UnexpectedTaskStateError(DBConductorError):
    msg_fmt = (
        "unexpected task state: expecting %(expected)s but the actual "
        "state is %(actual)s"
    )
    code = 409


class InstanceMetadataNotFound(NotFound):
    msg_fmt = (
        "Instance %(instance_uuid)s has no metadata with key "
        "%(metadata_key)s."
    )


class InstanceSystemMetadataNotFound(NotFound):
    msg_fmt = (
        "Instance %(instance_uuid)s has no system metadata with key "
        "%(metadata_key)s."
    )


class InstanceInfoCacheNotFound(NotFound):
    msg_fmt = "Info cache for instance %(instance_uuid)s could not be found."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HostNotFound(NotFound):
    msg_fmt = "Host %(host)s could not be found."


class ComputeHostNotFound(HostNotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class HostBinaryNotFound(NotFound):
    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


class CertificateNotFound(NotFound):
    msg_fmt = "Certificate %(certificate_id)s not found."


class FloatingIpNotFound(NotFound):
    msg_fmt = "Floating ip not found for id %(id)s."


class FloatingIpNotFoundForAddress(FloatingIpNotFound):
    msg_fmt = "Floating ip not found for address %(address)s."


class FloatingIpNotFoundForHost(FloatingIpNotFound):
    msg_fmt = "Floating ip not found for host %(host)s."


class NoMoreFloatingIps(FloatingIpNotFound):
    msg_fmt = "Zero floating ips available."


class NoFloatingIpsDefined(NotFound):
    msg_fmt = "Zero floating ips exist."


class FloatingIpExists(Duplicate):
    msg_fmt = "Floating ip %(address)s already exists."


class FloatingIpNotAssociated(Invalid):
    msg_fmt = "Floating ip %(address)s is not associated."


class FixedIpNotFound(NotFound):
    msg_fmt = "No fixed IP associated with id %(id)s."


class FixedIpNotFoundForAddress(FixedIpNotFound):
    msg_fmt = "Fixed ip not found for address %(address)s."


class FixedIpNotFoundForInstance(FixedIpNotFound):
    msg_fmt = "Instance %(instance_uuid)s has zero fixed ips."


class FixedIpNotFoundForNetworkHost(FixedIpNotFound):
    msg_fmt = (
        "Network host %(host)s has zero fixed ips in network %(network_id)s."
    )


class FixedIpNotFoundForNetwork(FixedIpNotFound):
    msg_fmt = (
        "Fixed IP address (%(address)s) does not exist in network "
        "(%(network_id)s)."
    )


class FixedIpExists(Duplicate):
    msg_fmt = "Fixed ip %(address)s already exists."


class FixedIpAlreadyInUse(DBConductorError):
    msg_fmt = (
        "Fixed IP address %(address)s is already in use on instance "
        "%(instance_uuid)s."
    )
    code = 409


class NoMoreFixedIps(DBConductorError):
    msg_fmt = "Zero fixed ips available."


class NoFixedIpsDefined(NotFound):
    msg_fmt = "Zero fixed ips could be found."


class VirtualInterfaceCreateException(DBConductorError):
    msg_fmt = "Virtual Interface creation failed"


class VirtualInterfaceMacAddressException(DBConductorError):
    msg_fmt = "Creation of virtual interface with unique mac address failed"


class NetworkNotFound(NotFound):
    msg_fmt = "Network %(network_id)s could not be found."


class NetworkNotFoundForBridge(NetworkNotFound):
    msg_fmt = "Network could not be found for bridge %(bridge)s"


class NetworkNotFoundForUUID(NetworkNotFound):
    msg_fmt = "Network could not be found for uuid %(uuid)s"


class NetworkNotFoundForCidr(NetworkNotFound):
    msg_fmt = "Network could not be found with cidr %(cidr)s."


class NetworkNotFoundForInstance(NetworkNotFound):
    msg_fmt = "Network could not be found for instance %(instance_id)s."


class NetworkNotFoundForProject(NotFound):
    msg_fmt = (
        "Either Network uuid %(network_uuid)s is not present or is not "
        "assigned to the project %(project_id)s."
    )


class NoNetworksFound(NotFound):
    msg_fmt = "No networks defined."


class NetworkInUse(DBConductorError):
    msg_fmt = "Network %(network_id)s is still in use."
    code = 409


class NetworkExists(Duplicate):
    msg_fmt = "Network with %(columns)s already exists."


class DuplicateVlan(Duplicate):
    msg_fmt = "Detected existing vlan with id %(vlan)d"


class NoMoreNetworks(DBConductorError):
    msg_fmt = "No more available networks."


class NoMoreTargets(DBConductorError):
    msg_fmt = "No more available targets."


class DNSDomainNotFound(NotFound):
    msg_fmt = "DNS domain %(domain)s could not be found."


class KeypairNotFound(NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s"


class KeyPairExists(Duplicate):
    msg_fmt = "Key pair %(key_name)s already exists."


class QuotaNotFound(NotFound):
    msg_fmt = "Quota could not be found"


class ProjectQuotaNotFound(QuotaNotFound):
    msg_fmt = "Quota for project %(project_id)s could not be found."


class QuotaClassNotFound(QuotaNotFound):
    msg_fmt = "Quota class %(class_name)s could not be found."


class QuotaUsageNotFound(QuotaNotFound):
    msg_fmt = "Quota usage for project %(project_id)s could not be found."


class ReservationNotFound(QuotaNotFound):
    msg_fmt = "Quota reservation %(uuid)s could not be found."


class QuotaResourceUnknown(QuotaNotFound):
    msg_fmt = "Unknown quota resources %(unknown)s."


class QuotaExists(Duplicate):
    msg_fmt = "Quota for %(resource)s of %(owner)s already exists."


class OverQuota(DBConductorError):
    msg_fmt = "Quota exceeded for resources: %(overs)s"
    code = 413


class VolumeNotFound(NotFound):
    msg_fmt = "Volume %(volume_id)s could not be found."


class VolumeMetadataNotFound(NotFound):
    msg_fmt = "Volume %(volume_id)s has no metadata with key %(metadata_key)s."


class ISCSITargetNotFoundForVolume(NotFound):
    msg_fmt = "No target id found for volume %(volume_id)s."


class ISCSITargetExists(Duplicate):
    msg_fmt = "Target %(target_num)s already exists on host %(host)s."


class SnapshotNotFound(NotFound):
    msg_fmt = "Snapshot %(snapshot_id)s could not be found."


class VolumeTypeNotFound(NotFound):
    msg_fmt = "Volume type %(volume_type_id)s could not be found."


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    msg_fmt = "Volume type with name %(volume_type_name)s could not be found."


class VolumeTypeExists(Duplicate):
    msg_fmt = "Volume Type %(name)s already exists."


class VolumeTypeExtraSpecsNotFound(NotFound):
    msg_fmt = (
        "Volume Type %(volume_type_id)s has no extra specs with key "
        "%(extra_specs_key)s."
    )


class InstanceTypeNotFound(NotFound):
    msg_fmt = "Instance type %(instance_type_id)s could not be found."


class InstanceTypeNotFoundByName(InstanceTypeNotFound):
    msg_fmt = (
        "Instance type with name %(instance_type_name)s could not be found."
    )


class InstanceTypeExists(Duplicate):
    msg_fmt = "Instance Type %(name)s already exists."


class InstanceTypeExtraSpecsNotFound(NotFound):
    msg_fmt = (
        "Instance Type %(instance_type_id)s has no extra specs with key "
        "%(extra_specs_key)s."
    )


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorAccessExists(Duplicate):
    msg_fmt = (
        "Flavor access already exists for flavor %(flavor_id)s and project "
        "%(project_id)s combination."
    )


class FlavorAccessNotFound(NotFound):
    msg_fmt = (
        "Flavor access not found for %(flavor_id)s / %(project_id)s "
        "combination."
    )


class SecurityGroupNotFound(NotFound):
    msg_fmt = "Security group %(security_group_id)s not found."


class SecurityGroupNotFoundForProject(SecurityGroupNotFound):
    msg_fmt = (
        "Security group %(security_group_id)s not found for project "
        "%(project_id)s."
    )


class SecurityGroupNotFoundForRule(SecurityGroupNotFound):
    msg_fmt = "Security group with rule %(rule_id)s not found."


class SecurityGroupExists(Duplicate):
    msg_fmt = (
        "Security group %(security_group_name)s already exists for project "
        "%(project_id)s."
    )


class SecurityGroupExistsForInstance(Invalid):
    msg_fmt = (
        "Security group %(security_group_id)s is already associated with "
        "the instance %(instance_id)s"
    )


class SecurityGroupNotExistsForInstance(Invalid):
    msg_fmt = (
        "Security group %(security_group_id)s is not associated with the "
        "instance %(instance_id)s"
    )


class MigrationNotFound(NotFound):
    msg_fmt = "Migration %(migration_id)s could not be found."


class MigrationNotFoundByStatus(MigrationNotFound):
    msg_fmt = (
        "Migration not found for instance %(instance_id)s with status "
        "%(status)s."
    )


class ConsolePoolNotFound(NotFound):
    msg_fmt = "Console pool %(pool_id)s could not be found."


class ConsolePoolNotFoundForHostType(NotFound):
    msg_fmt = (
        "Console pool of type %(console_type)s for compute host "
        "%(compute_host)s on proxy host %(host)s not found."
    )


class ConsolePoolExists(Duplicate):
    msg_fmt = (
        "Console pool of type %(console_type)s for compute host "
        "%(compute_host)s on proxy host %(host)s already exists."
    )


class ConsoleNotFound(NotFound):
    msg_fmt = "Console %(console_id)s could not be found."


class ConsoleNotFoundForInstance(ConsoleNotFound):
    msg_fmt = "Console for instance %(instance_uuid)s could not be found."


class ConsoleNotFoundInPoolForInstance(ConsoleNotFound):
    msg_fmt = (
        "Console for instance %(instance_uuid)s in pool %(pool_id)s could "
        "not be found."
    )


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class AgentBuildNotFound(NotFound):
    msg_fmt = "No agent-build associated with id %(id)s."


class AgentBuildExists(Duplicate):
    msg_fmt = (
        "Agent-build with hypervisor %(hypervisor)s os %(os)s architecture "
        "%(architecture)s exists."
    )


class AggregateNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Duplicate):
    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostExists(Duplicate):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateHostNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class AggregateMetadataNotFound(NotFound):
    msg_fmt = (
        "Aggregate %(aggregate_id)s has no metadata with key "
        "%(metadata_key)s."
    )


class TaskAlreadyRunning(DBConductorError):
    msg_fmt = "Task %(task_name)s is already running on host %(host)s"
    code = 409


class TaskNotRunning(DBConductorError):
    msg_fmt = "Task %(task_name)s is not running on host %(host)s"
    code = 409


class SMBackendConfNotFound(NotFound):
    msg_fmt = "Storage backend config %(sm_backend_id)s could not be found."


class SMBackendConfExists(Duplicate):
    msg_fmt = "Storage backend config %(sr_uuid)s already exists."


class SMFlavorNotFound(NotFound):
    msg_fmt = "Storage flavor %(sm_flavor_id)s could not be found."


class SMFlavorExists(Duplicate):
    msg_fmt = "Storage flavor %(label)s already exists."


class SMVolumeNotFound(NotFound):
    msg_fmt = "Storage volume %(volume_id)s could not be found."


class SMVolumeExists(Duplicate):
    msg_fmt = "Storage volume %(volume_id)s already exists."


class BlockDeviceMappingNotFound(NotFound):
    msg_fmt = "Block device mapping %(bdm_id)s could not be found."


class ProviderFirewallRuleNotFound(NotFound):
    msg_fmt = "Provider firewall rule %(rule_id)s could not be found."


class DBReferenceError(Invalid):
    """A write refers to a row that does not exist (a foreign key)."""

    msg_fmt = "Reference to a missing row: %(reason)s"


class QuotaUsageExists(Duplicate):
    msg_fmt = (
        "Quota usage of %(resource)s for project %(project_id)s already "
        "exists."
    )


class ReservationExists(Duplicate):
    msg_fmt = "Quota reservation %(uuid)s already exists."
