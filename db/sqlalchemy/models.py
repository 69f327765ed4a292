"""The 49 tables of the database API, as SQLAlchemy 2.x declarative models.

Every table carries ``created_at``, ``updated_at``, ``deleted_at`` and an
integer ``deleted``: 0 while the row is live, and on soft delete the row's
own ``id`` (1 for the few tables keyed by a string).  Unique constraints
therefore include ``deleted`` and hold among live rows, while any number of
deleted copies may remain: the constraints do the work that the original
did with check-then-insert races.

Constraint names follow ``uniq_<table>0<col>0<col>``, so the error
translation can name the columns of a violation on every dialect.

Relationships are declared for the joins that functions document; they are
loaded explicitly by the queries (``lazy="raise"`` catches a missed join in
tests), and rows leave the session as :class:`db.rows.Row` dicts.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    foreign,
    mapped_column,
    relationship,
)

from db import options
from db.sqlalchemy.types import UTCDateTime, utcnow


def _uniq(table: str, *columns: str) -> UniqueConstraint:
    return UniqueConstraint(
        *columns, name="uniq_" + "0".join((table, *columns))
    )


class Base(DeclarativeBase):
    """Columns and helpers every model shares."""

    #: Extra keys a row of this model carries besides its columns.
    _extra_keys: tuple[str, ...] = ()
    #: Relationship attribute -> key under which rows expose it.
    _row_aliases: dict[str, str] = {}

    created_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime, default=utcnow
    )
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime, onupdate=utcnow
    )
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    def __repr__(self) -> str:
        key = getattr(self, "id", None)
        return f"<{type(self).__name__} id={key!r} deleted={self.deleted}>"


def _live(model, **extra):
    """Return a join condition admitting only live rows of ``model``."""
    return model.deleted == 0


# --------------------------------------------------------------------------
# Services and compute nodes


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (Index("services_host_topic_idx", "host", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255))
    binary: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    report_count: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0
    )
    disabled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    availability_zone: Mapped[str | None] = mapped_column(
        String(255), default="nova"
    )

    compute_node: Mapped[list[ComputeNode]] = relationship(
        back_populates="service",
        primaryjoin="and_(Service.id == ComputeNode.service_id, "
        "ComputeNode.deleted == 0)",
        order_by="ComputeNode.id",
        lazy="raise",
        viewonly=True,
    )


class ComputeNode(Base):
    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    vcpus: Mapped[int | None] = mapped_column(Integer)
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    local_gb: Mapped[int | None] = mapped_column(Integer)
    vcpus_used: Mapped[int | None] = mapped_column(Integer)
    memory_mb_used: Mapped[int | None] = mapped_column(Integer)
    local_gb_used: Mapped[int | None] = mapped_column(Integer)
    hypervisor_type: Mapped[str | None] = mapped_column(Text)
    hypervisor_version: Mapped[int | None] = mapped_column(Integer)
    hypervisor_hostname: Mapped[str | None] = mapped_column(String(255))
    free_ram_mb: Mapped[int | None] = mapped_column(Integer)
    free_disk_gb: Mapped[int | None] = mapped_column(Integer)
    current_workload: Mapped[int | None] = mapped_column(Integer)
    running_vms: Mapped[int | None] = mapped_column(Integer)
    cpu_info: Mapped[str | None] = mapped_column(Text)
    disk_available_least: Mapped[int | None] = mapped_column(Integer)

    service: Mapped[Service | None] = relationship(
        back_populates="compute_node",
        primaryjoin="and_(ComputeNode.service_id == Service.id, "
        "Service.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )
    stats: Mapped[list[ComputeNodeStat]] = relationship(
        primaryjoin="and_(ComputeNode.id == ComputeNodeStat.compute_node_id,"
        " ComputeNodeStat.deleted == 0)",
        order_by="ComputeNodeStat.id",
        lazy="raise",
        viewonly=True,
    )


class ComputeNodeStat(Base):
    __tablename__ = "compute_node_stats"
    __table_args__ = (
        Index("compute_node_stats_node_id_and_deleted_idx",
              "compute_node_id", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(511), nullable=False)
    value: Mapped[str | None] = mapped_column(String(255))
    compute_node_id: Mapped[int] = mapped_column(
        ForeignKey("compute_nodes.id"), nullable=False
    )


# --------------------------------------------------------------------------
# Instances, flavors and what hangs off an instance


class InstanceTypes(Base):
    __tablename__ = "instance_types"
    __table_args__ = (
        _uniq("instance_types", "name", "deleted"),
        _uniq("instance_types", "flavorid", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    memory_mb: Mapped[int] = mapped_column(Integer, nullable=False)
    vcpus: Mapped[int] = mapped_column(Integer, nullable=False)
    root_gb: Mapped[int | None] = mapped_column(Integer)
    ephemeral_gb: Mapped[int | None] = mapped_column(Integer)
    flavorid: Mapped[str | None] = mapped_column(String(255))
    swap: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rxtx_factor: Mapped[float] = mapped_column(
        Float, nullable=False, default=1.0
    )
    vcpu_weight: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool | None] = mapped_column(Boolean, default=True)

    extra_specs: Mapped[list[InstanceTypeExtraSpecs]] = relationship(
        primaryjoin="and_(InstanceTypes.id == "
        "InstanceTypeExtraSpecs.instance_type_id, "
        "InstanceTypeExtraSpecs.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )
    projects: Mapped[list[InstanceTypeProjects]] = relationship(
        primaryjoin="and_(InstanceTypes.id == "
        "InstanceTypeProjects.instance_type_id, "
        "InstanceTypeProjects.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )


class InstanceTypeProjects(Base):
    __tablename__ = "instance_type_projects"
    __table_args__ = (
        _uniq("instance_type_projects", "instance_type_id", "project_id",
              "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_type_id: Mapped[int] = mapped_column(
        ForeignKey("instance_types.id"), nullable=False
    )
    project_id: Mapped[str | None] = mapped_column(String(255))


class InstanceTypeExtraSpecs(Base):
    __tablename__ = "instance_type_extra_specs"
    __table_args__ = (
        _uniq("instance_type_extra_specs", "instance_type_id", "key",
              "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    instance_type_id: Mapped[int] = mapped_column(
        ForeignKey("instance_types.id"), nullable=False
    )


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("uuid", name="uniq_instances0uuid"),
        Index("instances_host_deleted_idx", "host", "deleted"),
        Index("instances_project_id_deleted_idx", "project_id", "deleted"),
        Index("instances_reservation_id_idx", "reservation_id"),
        Index("instances_task_state_updated_at_idx", "task_state",
              "updated_at"),
    )
    _extra_keys = ("name",)
    _row_aliases = {
        "metadata_items": "metadata",
        "system_metadata_items": "system_metadata",
    }

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    image_ref: Mapped[str | None] = mapped_column(String(255))
    kernel_id: Mapped[str | None] = mapped_column(String(255))
    ramdisk_id: Mapped[str | None] = mapped_column(String(255))
    server_name: Mapped[str | None] = mapped_column(String(255))
    launch_index: Mapped[int | None] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    power_state: Mapped[int | None] = mapped_column(Integer)
    vm_state: Mapped[str | None] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    vcpus: Mapped[int | None] = mapped_column(Integer)
    root_gb: Mapped[int | None] = mapped_column(Integer)
    ephemeral_gb: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    instance_type_id: Mapped[int | None] = mapped_column(Integer)
    user_data: Mapped[str | None] = mapped_column(Text)
    reservation_id: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    launched_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    launched_on: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool | None] = mapped_column(Boolean)
    os_type: Mapped[str | None] = mapped_column(String(255))
    architecture: Mapped[str | None] = mapped_column(String(255))
    vm_mode: Mapped[str | None] = mapped_column(String(255))
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    root_device_name: Mapped[str | None] = mapped_column(String(255))
    default_ephemeral_device: Mapped[str | None] = mapped_column(String(255))
    default_swap_device: Mapped[str | None] = mapped_column(String(255))
    config_drive: Mapped[str | None] = mapped_column(String(255))
    access_ip_v4: Mapped[str | None] = mapped_column(String(255))
    access_ip_v6: Mapped[str | None] = mapped_column(String(255))
    auto_disk_config: Mapped[bool | None] = mapped_column(Boolean)
    progress: Mapped[int | None] = mapped_column(Integer)
    shutdown_terminate: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    disable_terminate: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )

    # NOTE(db-conductor): flavors are joined whatever their deleted state,
    # so an instance of a retired flavor still shows what it was built as.
    instance_type: Mapped[InstanceTypes | None] = relationship(
        primaryjoin="foreign(Instance.instance_type_id) == InstanceTypes.id",
        lazy="raise",
        viewonly=True,
    )
    info_cache: Mapped[InstanceInfoCache | None] = relationship(
        primaryjoin="Instance.uuid == "
        "foreign(InstanceInfoCache.instance_uuid)",
        uselist=False,
        lazy="raise",
        viewonly=True,
    )
    metadata_items: Mapped[list[InstanceMetadata]] = relationship(
        primaryjoin="and_(Instance.uuid == "
        "foreign(InstanceMetadata.instance_uuid), "
        "InstanceMetadata.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )
    system_metadata_items: Mapped[list[InstanceSystemMetadata]] = (
        relationship(
            primaryjoin="and_(Instance.uuid == "
            "foreign(InstanceSystemMetadata.instance_uuid), "
            "InstanceSystemMetadata.deleted == 0)",
            lazy="raise",
            viewonly=True,
        )
    )
    security_groups: Mapped[list[SecurityGroup]] = relationship(
        secondary="security_group_instance_association",
        primaryjoin="and_(Instance.uuid == "
        "SecurityGroupInstanceAssociation.instance_uuid, "
        "SecurityGroupInstanceAssociation.deleted == 0)",
        secondaryjoin="and_(SecurityGroupInstanceAssociation."
        "security_group_id == SecurityGroup.id, "
        "SecurityGroup.deleted == 0)",
        lazy="raise",
        viewonly=True,
        back_populates="instances",
    )

    @property
    def name(self) -> str:
        """The instance's name, from ``instance_name_template``."""
        template = options.CONF.instance_name_template
        try:
            return template % self.id
        except TypeError:
            values = {
                column.key: getattr(self, column.key)
                for column in self.__table__.columns
            }
            try:
                return template % values
            except (KeyError, TypeError, ValueError):
                return self.uuid


class InstanceInfoCache(Base):
    __tablename__ = "instance_info_caches"
    __table_args__ = (
        UniqueConstraint("instance_uuid",
                         name="uniq_instance_info_caches0instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_info: Mapped[str | None] = mapped_column(Text)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid"), nullable=False
    )


class InstanceMetadata(Base):
    __tablename__ = "instance_metadata"
    __table_args__ = (
        Index("instance_metadata_instance_uuid_idx", "instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid"), nullable=False
    )


class InstanceSystemMetadata(Base):
    __tablename__ = "instance_system_metadata"
    __table_args__ = (
        Index("instance_system_metadata_instance_uuid_idx", "instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid"), nullable=False
    )


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    __table_args__ = (
        Index("instance_faults_instance_uuid_deleted_created_at_idx",
              "instance_uuid", "deleted", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid"), nullable=False
    )
    code: Mapped[int] = mapped_column(Integer, nullable=False)
    message: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)


class InstanceIdMapping(Base):
    __tablename__ = "instance_id_mappings"
    __table_args__ = (
        Index("ix_instance_id_mappings_uuid", "uuid"),
        # NOTE(db-conductor): one EC2 id per instance, even when two
        # callers create the mapping at once.
        _uniq("instance_id_mappings", "uuid", "deleted"),
    )

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)


class Migration(Base):
    __tablename__ = "migrations"
    __table_args__ = (
        Index("migrations_instance_uuid_and_status_idx", "instance_uuid",
              "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    instance_uuid: Mapped[str | None] = mapped_column(
        ForeignKey("instances.uuid")
    )
    status: Mapped[str | None] = mapped_column(String(255))


# --------------------------------------------------------------------------
# Volumes, snapshots, block devices, iSCSI targets, storage manager


class VolumeTypes(Base):
    __tablename__ = "volume_types"
    __table_args__ = (_uniq("volume_types", "name", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))

    extra_specs: Mapped[list[VolumeTypeExtraSpecs]] = relationship(
        primaryjoin="and_(VolumeTypes.id == "
        "VolumeTypeExtraSpecs.volume_type_id, "
        "VolumeTypeExtraSpecs.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )


class VolumeTypeExtraSpecs(Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (
        _uniq("volume_type_extra_specs", "volume_type_id", "key", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    volume_type_id: Mapped[int] = mapped_column(
        ForeignKey("volume_types.id"), nullable=False
    )


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("volumes_instance_uuid_idx", "instance_uuid"),
        Index("volumes_host_idx", "host"),
    )
    _extra_keys = ("name",)
    _row_aliases = {"volume_metadata": "volume_metadata"}

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ec2_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    host: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(Integer)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_time: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    status: Mapped[str | None] = mapped_column(String(255))
    attach_status: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    launched_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    provider_location: Mapped[str | None] = mapped_column(String(255))
    provider_auth: Mapped[str | None] = mapped_column(String(255))
    volume_type_id: Mapped[int | None] = mapped_column(Integer)

    volume_metadata: Mapped[list[VolumeMetadata]] = relationship(
        primaryjoin="and_(Volume.id == foreign(VolumeMetadata.volume_id), "
        "VolumeMetadata.deleted == 0)",
        order_by="VolumeMetadata.id",
        lazy="raise",
        viewonly=True,
    )
    volume_type: Mapped[VolumeTypes | None] = relationship(
        primaryjoin="and_(foreign(Volume.volume_type_id) == VolumeTypes.id,"
        " VolumeTypes.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )
    iscsi_target: Mapped[IscsiTarget | None] = relationship(
        primaryjoin="and_(Volume.id == foreign(IscsiTarget.volume_id), "
        "IscsiTarget.deleted == 0)",
        uselist=False,
        lazy="raise",
        viewonly=True,
    )

    @property
    def name(self) -> str:
        """The volume's name, from ``volume_name_template``."""
        return options.CONF.volume_name_template % self.id


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id"), nullable=False
    )


class VolumeIdMapping(Base):
    __tablename__ = "volume_id_mappings"
    __table_args__ = (
        Index("ix_volume_id_mappings_uuid", "uuid"),
        # NOTE(db-conductor): one EC2 id per volume, even when two callers
        # create the mapping at once.
        _uniq("volume_id_mappings", "uuid", "deleted"),
    )

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)


class Snapshot(Base):
    __tablename__ = "snapshots"
    _extra_keys = ("name", "volume_name")

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str | None] = mapped_column(String(255))
    progress: Mapped[str | None] = mapped_column(String(255))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))

    @property
    def name(self) -> str:
        """The snapshot's name, from ``snapshot_name_template``."""
        return options.CONF.snapshot_name_template % self.id

    @property
    def volume_name(self) -> str:
        """The name of the snapshot's volume."""
        return options.CONF.volume_name_template % self.volume_id


class SnapshotIdMapping(Base):
    __tablename__ = "snapshot_id_mappings"
    __table_args__ = (
        Index("ix_snapshot_id_mappings_uuid", "uuid"),
        # NOTE(db-conductor): one EC2 id per snapshot, even when two callers
        # create the mapping at once.
        _uniq("snapshot_id_mappings", "uuid", "deleted"),
    )

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)


class BlockDeviceMapping(Base):
    __tablename__ = "block_device_mapping"
    __table_args__ = (
        Index("block_device_mapping_instance_uuid_idx", "instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid"), nullable=False
    )
    device_name: Mapped[str] = mapped_column(String(255), nullable=False)
    delete_on_termination: Mapped[bool | None] = mapped_column(
        Boolean, default=False
    )
    virtual_name: Mapped[str | None] = mapped_column(String(255))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    volume_id: Mapped[str | None] = mapped_column(String(36))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    no_device: Mapped[bool | None] = mapped_column(Boolean)
    connection_info: Mapped[str | None] = mapped_column(Text)


class IscsiTarget(Base):
    __tablename__ = "iscsi_targets"
    __table_args__ = (
        _uniq("iscsi_targets", "target_num", "host", "deleted"),
        Index("iscsi_targets_host_volume_id_deleted_idx", "host",
              "volume_id", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_num: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str | None] = mapped_column(ForeignKey("volumes.id"))


class SMFlavors(Base):
    __tablename__ = "sm_flavors"
    __table_args__ = (_uniq("sm_flavors", "label", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))


class SMBackendConf(Base):
    __tablename__ = "sm_backend_config"
    __table_args__ = (_uniq("sm_backend_config", "sr_uuid", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("sm_flavors.id"), nullable=False
    )
    sr_uuid: Mapped[str | None] = mapped_column(String(255))
    sr_type: Mapped[str | None] = mapped_column(String(255))
    config_params: Mapped[str | None] = mapped_column(String(2047))


class SMVolume(Base):
    __tablename__ = "sm_volume"

    id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id"), primary_key=True
    )
    backend_id: Mapped[int] = mapped_column(
        ForeignKey("sm_backend_config.id"), nullable=False
    )
    vdi_uuid: Mapped[str | None] = mapped_column(String(255))


# --------------------------------------------------------------------------
# Quotas


class Quota(Base):
    __tablename__ = "quotas"
    __table_args__ = (_uniq("quotas", "project_id", "resource", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaClass(Base):
    __tablename__ = "quota_classes"
    __table_args__ = (
        _uniq("quota_classes", "class_name", "resource", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_name: Mapped[str | None] = mapped_column(String(255), index=True)
    resource: Mapped[str | None] = mapped_column(String(255))
    hard_limit: Mapped[int | None] = mapped_column(Integer)


class QuotaUsage(Base):
    __tablename__ = "quota_usages"
    __table_args__ = (
        _uniq("quota_usages", "project_id", "resource", "deleted"),
    )
    _extra_keys = ("total",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    resource: Mapped[str | None] = mapped_column(String(255))
    in_use: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reserved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    until_refresh: Mapped[int | None] = mapped_column(Integer)

    @property
    def total(self) -> int:
        """Usage counted against the quota: in use plus reserved."""
        return (self.in_use or 0) + (self.reserved or 0)


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("uuid", name="uniq_reservations0uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    usage_id: Mapped[int] = mapped_column(
        ForeignKey("quota_usages.id"), nullable=False
    )
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    resource: Mapped[str | None] = mapped_column(String(255))
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    expire: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, nullable=False
    )

    usage: Mapped[QuotaUsage] = relationship(
        primaryjoin="and_(Reservation.usage_id == QuotaUsage.id, "
        "QuotaUsage.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )


# --------------------------------------------------------------------------
# Security groups and firewall rules


class SecurityGroupInstanceAssociation(Base):
    __tablename__ = "security_group_instance_association"
    __table_args__ = (
        Index("security_group_instance_association_instance_uuid_idx",
              "instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    security_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id")
    )
    instance_uuid: Mapped[str | None] = mapped_column(
        ForeignKey("instances.uuid")
    )


class SecurityGroup(Base):
    __tablename__ = "security_groups"
    __table_args__ = (
        _uniq("security_groups", "project_id", "name", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))

    instances: Mapped[list[Instance]] = relationship(
        secondary="security_group_instance_association",
        primaryjoin="and_(SecurityGroupInstanceAssociation."
        "security_group_id == SecurityGroup.id, "
        "SecurityGroupInstanceAssociation.deleted == 0, "
        "SecurityGroup.deleted == 0)",
        secondaryjoin="and_(SecurityGroupInstanceAssociation."
        "instance_uuid == Instance.uuid, Instance.deleted == 0)",
        order_by="Instance.id",
        lazy="raise",
        viewonly=True,
        back_populates="security_groups",
    )
    rules: Mapped[list[SecurityGroupIngressRule]] = relationship(
        primaryjoin="and_(SecurityGroup.id == "
        "SecurityGroupIngressRule.parent_group_id, "
        "SecurityGroupIngressRule.deleted == 0)",
        order_by="SecurityGroupIngressRule.id",
        lazy="raise",
        viewonly=True,
        back_populates="parent_group",
    )


class SecurityGroupIngressRule(Base):
    __tablename__ = "security_group_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id")
    )
    protocol: Mapped[str | None] = mapped_column(String(5))
    from_port: Mapped[int | None] = mapped_column(Integer)
    to_port: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_groups.id")
    )

    parent_group: Mapped[SecurityGroup | None] = relationship(
        primaryjoin="and_(SecurityGroupIngressRule.parent_group_id == "
        "SecurityGroup.id, SecurityGroup.deleted == 0)",
        lazy="raise",
        viewonly=True,
        back_populates="rules",
    )
    grantee_group: Mapped[SecurityGroup | None] = relationship(
        primaryjoin="and_(SecurityGroupIngressRule.group_id == "
        "SecurityGroup.id, SecurityGroup.deleted == 0)",
        lazy="raise",
        viewonly=True,
    )


class ProviderFirewallRule(Base):
    __tablename__ = "provider_fw_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str | None] = mapped_column(String(5))
    from_port: Mapped[int | None] = mapped_column(Integer)
    to_port: Mapped[int | None] = mapped_column(Integer)
    cidr: Mapped[str | None] = mapped_column(String(255))


# --------------------------------------------------------------------------
# Networking


class Network(Base):
    __tablename__ = "networks"
    __table_args__ = (
        _uniq("networks", "vlan", "deleted"),
        _uniq("networks", "cidr", "deleted"),
        _uniq("networks", "cidr_v6", "deleted"),
        _uniq("networks", "vpn_public_address", "vpn_public_port",
              "deleted"),
        _uniq("networks", "network_index", "deleted"),
        Index("networks_host_idx", "host"),
        Index("networks_project_id_deleted_idx", "project_id", "deleted"),
        Index("networks_uuid_project_id_deleted_idx", "uuid",
              "project_id", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(255))
    injected: Mapped[bool | None] = mapped_column(Boolean, default=False)
    cidr: Mapped[str | None] = mapped_column(String(43))
    cidr_v6: Mapped[str | None] = mapped_column(String(43))
    multi_host: Mapped[bool | None] = mapped_column(Boolean, default=False)
    gateway_v6: Mapped[str | None] = mapped_column(String(39))
    netmask_v6: Mapped[str | None] = mapped_column(String(39))
    netmask: Mapped[str | None] = mapped_column(String(39))
    bridge: Mapped[str | None] = mapped_column(String(255))
    bridge_interface: Mapped[str | None] = mapped_column(String(255))
    gateway: Mapped[str | None] = mapped_column(String(39))
    broadcast: Mapped[str | None] = mapped_column(String(39))
    dns1: Mapped[str | None] = mapped_column(String(39))
    dns2: Mapped[str | None] = mapped_column(String(39))
    vlan: Mapped[int | None] = mapped_column(Integer)
    vpn_public_address: Mapped[str | None] = mapped_column(String(39))
    vpn_public_port: Mapped[int | None] = mapped_column(Integer)
    vpn_private_address: Mapped[str | None] = mapped_column(String(39))
    dhcp_start: Mapped[str | None] = mapped_column(String(39))
    rxtx_base: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    uuid: Mapped[str | None] = mapped_column(String(36))
    #: The small integer network_get_index hands out, unique among live
    #: networks (not a column of the original schema).
    network_index: Mapped[int | None] = mapped_column(Integer)


class VirtualInterface(Base):
    __tablename__ = "virtual_interfaces"
    __table_args__ = (
        _uniq("virtual_interfaces", "address", "deleted"),
        Index("virtual_interfaces_instance_uuid_idx", "instance_uuid"),
        Index("virtual_interfaces_network_id_idx", "network_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str | None] = mapped_column(String(255))
    network_id: Mapped[int | None] = mapped_column(Integer)
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    uuid: Mapped[str | None] = mapped_column(String(36))


class FixedIp(Base):
    __tablename__ = "fixed_ips"
    __table_args__ = (
        _uniq("fixed_ips", "address", "deleted"),
        Index("fixed_ips_network_id_host_deleted_idx", "network_id",
              "host", "deleted"),
        Index("fixed_ips_address_reserved_network_id_deleted_idx",
              "address", "reserved", "network_id", "deleted"),
        Index("fixed_ips_instance_uuid_idx", "instance_uuid"),
        Index("fixed_ips_virtual_interface_id_idx", "virtual_interface_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str | None] = mapped_column(String(39))
    network_id: Mapped[int | None] = mapped_column(Integer)
    virtual_interface_id: Mapped[int | None] = mapped_column(Integer)
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    allocated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    leased: Mapped[bool | None] = mapped_column(Boolean, default=False)
    reserved: Mapped[bool | None] = mapped_column(Boolean, default=False)
    host: Mapped[str | None] = mapped_column(String(255))

    network: Mapped[Network | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(FixedIp.network_id) == Network.id, Network.deleted == 0
        ),
        lazy="raise",
        viewonly=True,
    )
    instance: Mapped[Instance | None] = relationship(
        primaryjoin=lambda: foreign(FixedIp.instance_uuid) == Instance.uuid,
        lazy="raise",
        viewonly=True,
    )
    virtual_interface: Mapped[VirtualInterface | None] = relationship(
        primaryjoin=lambda: foreign(FixedIp.virtual_interface_id)
        == VirtualInterface.id,
        lazy="raise",
        viewonly=True,
    )
    floating_ips: Mapped[list[FloatingIp]] = relationship(
        primaryjoin=lambda: and_(
            FixedIp.id == foreign(FloatingIp.fixed_ip_id),
            FloatingIp.deleted == 0,
        ),
        lazy="raise",
        viewonly=True,
    )


class FloatingIp(Base):
    __tablename__ = "floating_ips"
    __table_args__ = (
        _uniq("floating_ips", "address", "deleted"),
        Index("floating_ips_host_idx", "host"),
        Index("floating_ips_project_id_idx", "project_id"),
        Index("floating_ips_pool_deleted_fixed_ip_id_project_id_idx",
              "pool", "deleted", "fixed_ip_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str | None] = mapped_column(String(39))
    fixed_ip_id: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    auto_assigned: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    pool: Mapped[str | None] = mapped_column(String(255))
    interface: Mapped[str | None] = mapped_column(String(255))

    fixed_ip: Mapped[FixedIp | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(FloatingIp.fixed_ip_id) == FixedIp.id,
            FixedIp.deleted == 0,
        ),
        lazy="raise",
        viewonly=True,
    )


class DNSDomain(Base):
    __tablename__ = "dns_domains"
    __table_args__ = (Index("dns_domains_project_id_idx", "project_id"),)

    domain: Mapped[str] = mapped_column(String(512), primary_key=True)
    scope: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))


# --------------------------------------------------------------------------
# Aggregates


class Aggregate(Base):
    __tablename__ = "aggregates"
    __table_args__ = (_uniq("aggregates", "name", "deleted"),)
    _extra_keys = ("hosts", "metadetails")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(
        String(255), nullable=False
    )

    _hosts: Mapped[list[AggregateHost]] = relationship(
        primaryjoin="and_(Aggregate.id == AggregateHost.aggregate_id, "
        "AggregateHost.deleted == 0, Aggregate.deleted == 0)",
        order_by="AggregateHost.id",
        lazy="raise",
        viewonly=True,
    )
    _metadata: Mapped[list[AggregateMetadata]] = relationship(
        primaryjoin="and_(Aggregate.id == AggregateMetadata.aggregate_id, "
        "AggregateMetadata.deleted == 0, Aggregate.deleted == 0)",
        order_by="AggregateMetadata.id",
        lazy="raise",
        viewonly=True,
    )

    @property
    def hosts(self) -> list[str]:
        """The names of the aggregate's live hosts."""
        return [h.host for h in self._hosts]

    @property
    def metadetails(self) -> dict[str, str]:
        """The aggregate's live metadata as a dict."""
        return {m.key: m.value for m in self._metadata}


class AggregateHost(Base):
    __tablename__ = "aggregate_hosts"
    __table_args__ = (
        _uniq("aggregate_hosts", "host", "aggregate_id", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255))
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id"), nullable=False
    )


class AggregateMetadata(Base):
    __tablename__ = "aggregate_metadata"
    __table_args__ = (
        _uniq("aggregate_metadata", "aggregate_id", "key", "deleted"),
        Index("aggregate_metadata_key_idx", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id"), nullable=False
    )


# --------------------------------------------------------------------------
# Everything else


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        Index("certificates_project_id_deleted_idx", "project_id",
              "deleted"),
        Index("certificates_user_id_deleted_idx", "user_id", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(String(255))


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (_uniq("key_pairs", "user_id", "name", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(255))
    public_key: Mapped[str | None] = mapped_column(Text)


class ConsolePool(Base):
    __tablename__ = "console_pools"
    __table_args__ = (
        _uniq("console_pools", "host", "console_type", "compute_host",
              "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str | None] = mapped_column(String(39))
    username: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    console_type: Mapped[str | None] = mapped_column(String(255))
    public_hostname: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    compute_host: Mapped[str | None] = mapped_column(String(255))

    consoles: Mapped[list[Console]] = relationship(
        primaryjoin="and_(ConsolePool.id == Console.pool_id, "
        "Console.deleted == 0)",
        order_by="Console.id",
        lazy="raise",
        viewonly=True,
    )


class Console(Base):
    __tablename__ = "consoles"
    __table_args__ = (
        Index("consoles_instance_uuid_idx", "instance_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_name: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    password: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    pool_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_pools.id")
    )

    pool: Mapped[ConsolePool | None] = relationship(
        primaryjoin="Console.pool_id == ConsolePool.id",
        lazy="raise",
        viewonly=True,
    )


class AgentBuild(Base):
    __tablename__ = "agent_builds"
    __table_args__ = (
        _uniq("agent_builds", "hypervisor", "os", "architecture", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypervisor: Mapped[str | None] = mapped_column(String(255))
    os: Mapped[str | None] = mapped_column(String(255))
    architecture: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(255))
    md5hash: Mapped[str | None] = mapped_column(String(255))


class BandwidthUsage(Base):
    __tablename__ = "bw_usage_cache"
    __table_args__ = (
        _uniq("bw_usage_cache", "uuid", "mac", "start_period", "deleted"),
        Index("bw_usage_cache_uuid_start_period_idx", "uuid",
              "start_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    mac: Mapped[str] = mapped_column(String(255), nullable=False)
    start_period: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, nullable=False
    )
    last_refreshed: Mapped[datetime.datetime | None] = mapped_column(
        UTCDateTime
    )
    bw_in: Mapped[int | None] = mapped_column(BigInteger)
    bw_out: Mapped[int | None] = mapped_column(BigInteger)


class S3Image(Base):
    __tablename__ = "s3_images"
    __table_args__ = (Index("ix_s3_images_uuid", "uuid"),)

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)


class TaskLog(Base):
    __tablename__ = "task_log"
    __table_args__ = (
        _uniq("task_log", "task_name", "host", "period_beginning",
              "period_ending"),
    )

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )
    task_name: Mapped[str] = mapped_column(String(255), nullable=False)
    state: Mapped[str] = mapped_column(String(255), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    period_beginning: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, nullable=False
    )
    period_ending: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, nullable=False
    )
    message: Mapped[str] = mapped_column(String(255), nullable=False)
    task_items: Mapped[int | None] = mapped_column(Integer, default=0)
    errors: Mapped[int | None] = mapped_column(Integer, default=0)


#: Every model, by table name (the migration and tests use it).
MODELS = {
    mapper.class_.__tablename__: mapper.class_
    for mapper in Base.registry.mappers
}
