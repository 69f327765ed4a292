"""Initial schema: the 49 tables of the database API

Revision ID: 0001
Revises: none
Create Date: 2026-12-03 10:54:19.976721
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hypervisor", sa.String(length=255), nullable=True),
        sa.Column("os", sa.String(length=255), nullable=True),
        sa.Column("architecture", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=255), nullable=True),
        sa.Column("md5hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "hypervisor",
            "os",
            "architecture",
            "deleted",
            name="uniq_agent_builds0hypervisor0os0architecture0deleted",
        ),
    )
    op.create_table(
        "aggregates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "name", "deleted", name="uniq_aggregates0name0deleted"
        ),
    )
    op.create_table(
        "bw_usage_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("mac", sa.String(length=255), nullable=False),
        sa.Column("start_period", sa.DateTime(), nullable=False),
        sa.Column("last_refreshed", sa.DateTime(), nullable=True),
        sa.Column("bw_in", sa.BigInteger(), nullable=True),
        sa.Column("bw_out", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "uuid",
            "mac",
            "start_period",
            "deleted",
            name="uniq_bw_usage_cache0uuid0mac0start_period0deleted",
        ),
    )
    with op.batch_alter_table("bw_usage_cache", schema=None) as batch_op:
        batch_op.create_index(
            "bw_usage_cache_uuid_start_period_idx",
            ["uuid", "start_period"],
            unique=False,
        )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "certificates_project_id_deleted_idx",
            ["project_id", "deleted"],
            unique=False,
        )
        batch_op.create_index(
            "certificates_user_id_deleted_idx",
            ["user_id", "deleted"],
            unique=False,
        )

    op.create_table(
        "console_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=39), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("console_type", sa.String(length=255), nullable=True),
        sa.Column("public_hostname", sa.String(length=255), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("compute_host", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "host",
            "console_type",
            "compute_host",
            "deleted",
            name="uniq_console_pools0host0console_type0compute_host0deleted",
        ),
    )
    op.create_table(
        "dns_domains",
        sa.Column("domain", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("domain"),
    )
    with op.batch_alter_table("dns_domains", schema=None) as batch_op:
        batch_op.create_index(
            "dns_domains_project_id_idx", ["project_id"], unique=False
        )

    op.create_table(
        "fixed_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=39), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("virtual_interface_id", sa.Integer(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("allocated", sa.Boolean(), nullable=True),
        sa.Column("leased", sa.Boolean(), nullable=True),
        sa.Column("reserved", sa.Boolean(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "address", "deleted", name="uniq_fixed_ips0address0deleted"
        ),
    )
    with op.batch_alter_table("fixed_ips", schema=None) as batch_op:
        batch_op.create_index(
            "fixed_ips_address_reserved_network_id_deleted_idx",
            ["address", "reserved", "network_id", "deleted"],
            unique=False,
        )
        batch_op.create_index(
            "fixed_ips_instance_uuid_idx", ["instance_uuid"], unique=False
        )
        batch_op.create_index(
            "fixed_ips_network_id_host_deleted_idx",
            ["network_id", "host", "deleted"],
            unique=False,
        )
        batch_op.create_index(
            "fixed_ips_virtual_interface_id_idx",
            ["virtual_interface_id"],
            unique=False,
        )

    op.create_table(
        "floating_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=39), nullable=True),
        sa.Column("fixed_ip_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("auto_assigned", sa.Boolean(), nullable=False),
        sa.Column("pool", sa.String(length=255), nullable=True),
        sa.Column("interface", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "address", "deleted", name="uniq_floating_ips0address0deleted"
        ),
    )
    with op.batch_alter_table("floating_ips", schema=None) as batch_op:
        batch_op.create_index("floating_ips_host_idx", ["host"], unique=False)
        batch_op.create_index(
            "floating_ips_pool_deleted_fixed_ip_id_project_id_idx",
            ["pool", "deleted", "fixed_ip_id", "project_id"],
            unique=False,
        )
        batch_op.create_index(
            "floating_ips_project_id_idx", ["project_id"], unique=False
        )

    op.create_table(
        "instance_id_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "uuid", "deleted", name="uniq_instance_id_mappings0uuid0deleted"
        ),
    )
    with op.batch_alter_table("instance_id_mappings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_instance_id_mappings_uuid", ["uuid"], unique=False
        )

    op.create_table(
        "instance_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=True),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=True),
        sa.Column("flavorid", sa.String(length=255), nullable=True),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("rxtx_factor", sa.Float(), nullable=False),
        sa.Column("vcpu_weight", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "flavorid", "deleted", name="uniq_instance_types0flavorid0deleted"
        ),
        sa.UniqueConstraint(
            "name", "deleted", name="uniq_instance_types0name0deleted"
        ),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("image_ref", sa.String(length=255), nullable=True),
        sa.Column("kernel_id", sa.String(length=255), nullable=True),
        sa.Column("ramdisk_id", sa.String(length=255), nullable=True),
        sa.Column("server_name", sa.String(length=255), nullable=True),
        sa.Column("launch_index", sa.Integer(), nullable=True),
        sa.Column("key_name", sa.String(length=255), nullable=True),
        sa.Column("key_data", sa.Text(), nullable=True),
        sa.Column("power_state", sa.Integer(), nullable=True),
        sa.Column("vm_state", sa.String(length=255), nullable=True),
        sa.Column("task_state", sa.String(length=255), nullable=True),
        sa.Column("memory_mb", sa.Integer(), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=True),
        sa.Column("root_gb", sa.Integer(), nullable=True),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("instance_type_id", sa.Integer(), nullable=True),
        sa.Column("user_data", sa.Text(), nullable=True),
        sa.Column("reservation_id", sa.String(length=255), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("terminated_at", sa.DateTime(), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.String(length=255), nullable=True),
        sa.Column("launched_on", sa.Text(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=True),
        sa.Column("os_type", sa.String(length=255), nullable=True),
        sa.Column("architecture", sa.String(length=255), nullable=True),
        sa.Column("vm_mode", sa.String(length=255), nullable=True),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("root_device_name", sa.String(length=255), nullable=True),
        sa.Column(
            "default_ephemeral_device", sa.String(length=255), nullable=True
        ),
        sa.Column("default_swap_device", sa.String(length=255), nullable=True),
        sa.Column("config_drive", sa.String(length=255), nullable=True),
        sa.Column("access_ip_v4", sa.String(length=255), nullable=True),
        sa.Column("access_ip_v6", sa.String(length=255), nullable=True),
        sa.Column("auto_disk_config", sa.Boolean(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("shutdown_terminate", sa.Boolean(), nullable=False),
        sa.Column("disable_terminate", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid", name="uniq_instances0uuid"),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(
            "instances_host_deleted_idx", ["host", "deleted"], unique=False
        )
        batch_op.create_index(
            "instances_project_id_deleted_idx",
            ["project_id", "deleted"],
            unique=False,
        )
        batch_op.create_index(
            "instances_reservation_id_idx", ["reservation_id"], unique=False
        )
        batch_op.create_index(
            "instances_task_state_updated_at_idx",
            ["task_state", "updated_at"],
            unique=False,
        )

    op.create_table(
        "key_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("fingerprint", sa.String(length=255), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "user_id",
            "name",
            "deleted",
            name="uniq_key_pairs0user_id0name0deleted",
        ),
    )
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("injected", sa.Boolean(), nullable=True),
        sa.Column("cidr", sa.String(length=43), nullable=True),
        sa.Column("cidr_v6", sa.String(length=43), nullable=True),
        sa.Column("multi_host", sa.Boolean(), nullable=True),
        sa.Column("gateway_v6", sa.String(length=39), nullable=True),
        sa.Column("netmask_v6", sa.String(length=39), nullable=True),
        sa.Column("netmask", sa.String(length=39), nullable=True),
        sa.Column("bridge", sa.String(length=255), nullable=True),
        sa.Column("bridge_interface", sa.String(length=255), nullable=True),
        sa.Column("gateway", sa.String(length=39), nullable=True),
        sa.Column("broadcast", sa.String(length=39), nullable=True),
        sa.Column("dns1", sa.String(length=39), nullable=True),
        sa.Column("dns2", sa.String(length=39), nullable=True),
        sa.Column("vlan", sa.Integer(), nullable=True),
        sa.Column("vpn_public_address", sa.String(length=39), nullable=True),
        sa.Column("vpn_public_port", sa.Integer(), nullable=True),
        sa.Column("vpn_private_address", sa.String(length=39), nullable=True),
        sa.Column("dhcp_start", sa.String(length=39), nullable=True),
        sa.Column("rxtx_base", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("uuid", sa.String(length=36), nullable=True),
        sa.Column("network_index", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "cidr", "deleted", name="uniq_networks0cidr0deleted"
        ),
        sa.UniqueConstraint(
            "cidr_v6", "deleted", name="uniq_networks0cidr_v60deleted"
        ),
        sa.UniqueConstraint(
            "network_index",
            "deleted",
            name="uniq_networks0network_index0deleted",
        ),
        sa.UniqueConstraint(
            "vlan", "deleted", name="uniq_networks0vlan0deleted"
        ),
        sa.UniqueConstraint(
            "vpn_public_address",
            "vpn_public_port",
            "deleted",
            name="uniq_networks0vpn_public_address0vpn_public_port0deleted",
        ),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index("networks_host_idx", ["host"], unique=False)
        batch_op.create_index(
            "networks_project_id_deleted_idx",
            ["project_id", "deleted"],
            unique=False,
        )
        batch_op.create_index(
            "networks_uuid_project_id_deleted_idx",
            ["uuid", "project_id", "deleted"],
            unique=False,
        )

    op.create_table(
        "provider_fw_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=5), nullable=True),
        sa.Column("from_port", sa.Integer(), nullable=True),
        sa.Column("to_port", sa.Integer(), nullable=True),
        sa.Column("cidr", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "quota_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_name", sa.String(length=255), nullable=True),
        sa.Column("resource", sa.String(length=255), nullable=True),
        sa.Column("hard_limit", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "class_name",
            "resource",
            "deleted",
            name="uniq_quota_classes0class_name0resource0deleted",
        ),
    )
    with op.batch_alter_table("quota_classes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quota_classes_class_name"),
            ["class_name"],
            unique=False,
        )

    op.create_table(
        "quota_usages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("resource", sa.String(length=255), nullable=True),
        sa.Column("in_use", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("until_refresh", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id",
            "resource",
            "deleted",
            name="uniq_quota_usages0project_id0resource0deleted",
        ),
    )
    with op.batch_alter_table("quota_usages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quota_usages_project_id"),
            ["project_id"],
            unique=False,
        )

    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id",
            "resource",
            "deleted",
            name="uniq_quotas0project_id0resource0deleted",
        ),
    )
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quotas_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "s3_images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("s3_images", schema=None) as batch_op:
        batch_op.create_index("ix_s3_images_uuid", ["uuid"], unique=False)

    op.create_table(
        "security_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id",
            "name",
            "deleted",
            name="uniq_security_groups0project_id0name0deleted",
        ),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("binary", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(
            "services_host_topic_idx", ["host", "topic"], unique=False
        )

    op.create_table(
        "sm_flavors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "label", "deleted", name="uniq_sm_flavors0label0deleted"
        ),
    )
    op.create_table(
        "snapshot_id_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "uuid", "deleted", name="uniq_snapshot_id_mappings0uuid0deleted"
        ),
    )
    with op.batch_alter_table("snapshot_id_mappings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_snapshot_id_mappings_uuid", ["uuid"], unique=False
        )

    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=True),
        sa.Column("progress", sa.String(length=255), nullable=True),
        sa.Column("volume_size", sa.Integer(), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "task_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("period_beginning", sa.DateTime(), nullable=False),
        sa.Column("period_ending", sa.DateTime(), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("task_items", sa.Integer(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "task_name",
            "host",
            "period_beginning",
            "period_ending",
            name="uniq_task_log0task_name0host0period_beginning0period_ending",
        ),
    )
    op.create_table(
        "virtual_interfaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("uuid", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "address",
            "deleted",
            name="uniq_virtual_interfaces0address0deleted",
        ),
    )
    with op.batch_alter_table("virtual_interfaces", schema=None) as batch_op:
        batch_op.create_index(
            "virtual_interfaces_instance_uuid_idx",
            ["instance_uuid"],
            unique=False,
        )
        batch_op.create_index(
            "virtual_interfaces_network_id_idx", ["network_id"], unique=False
        )

    op.create_table(
        "volume_id_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "uuid", "deleted", name="uniq_volume_id_mappings0uuid0deleted"
        ),
    )
    with op.batch_alter_table("volume_id_mappings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_volume_id_mappings_uuid", ["uuid"], unique=False
        )

    op.create_table(
        "volume_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "name", "deleted", name="uniq_volume_types0name0deleted"
        ),
    )
    op.create_table(
        "volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ec2_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("mountpoint", sa.String(length=255), nullable=True),
        sa.Column("attach_time", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=True),
        sa.Column("attach_status", sa.String(length=255), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("terminated_at", sa.DateTime(), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.String(length=255), nullable=True),
        sa.Column("provider_location", sa.String(length=255), nullable=True),
        sa.Column("provider_auth", sa.String(length=255), nullable=True),
        sa.Column("volume_type_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.create_index("volumes_host_idx", ["host"], unique=False)
        batch_op.create_index(
            "volumes_instance_uuid_idx", ["instance_uuid"], unique=False
        )

    op.create_table(
        "aggregate_hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "host",
            "aggregate_id",
            "deleted",
            name="uniq_aggregate_hosts0host0aggregate_id0deleted",
        ),
    )
    op.create_table(
        "aggregate_metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "aggregate_id",
            "key",
            "deleted",
            name="uniq_aggregate_metadata0aggregate_id0key0deleted",
        ),
    )
    with op.batch_alter_table("aggregate_metadata", schema=None) as batch_op:
        batch_op.create_index(
            "aggregate_metadata_key_idx", ["key"], unique=False
        )

    op.create_table(
        "block_device_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("device_name", sa.String(length=255), nullable=False),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=True),
        sa.Column("virtual_name", sa.String(length=255), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("volume_size", sa.Integer(), nullable=True),
        sa.Column("no_device", sa.Boolean(), nullable=True),
        sa.Column("connection_info", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("block_device_mapping", schema=None) as batch_op:
        batch_op.create_index(
            "block_device_mapping_instance_uuid_idx",
            ["instance_uuid"],
            unique=False,
        )

    op.create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=True),
        sa.Column("memory_mb", sa.Integer(), nullable=True),
        sa.Column("local_gb", sa.Integer(), nullable=True),
        sa.Column("vcpus_used", sa.Integer(), nullable=True),
        sa.Column("memory_mb_used", sa.Integer(), nullable=True),
        sa.Column("local_gb_used", sa.Integer(), nullable=True),
        sa.Column("hypervisor_type", sa.Text(), nullable=True),
        sa.Column("hypervisor_version", sa.Integer(), nullable=True),
        sa.Column("hypervisor_hostname", sa.String(length=255), nullable=True),
        sa.Column("free_ram_mb", sa.Integer(), nullable=True),
        sa.Column("free_disk_gb", sa.Integer(), nullable=True),
        sa.Column("current_workload", sa.Integer(), nullable=True),
        sa.Column("running_vms", sa.Integer(), nullable=True),
        sa.Column("cpu_info", sa.Text(), nullable=True),
        sa.Column("disk_available_least", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "consoles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_name", sa.String(length=255), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("pool_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["console_pools.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consoles", schema=None) as batch_op:
        batch_op.create_index(
            "consoles_instance_uuid_idx", ["instance_uuid"], unique=False
        )

    op.create_table(
        "instance_faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_faults", schema=None) as batch_op:
        batch_op.create_index(
            "instance_faults_instance_uuid_deleted_created_at_idx",
            ["instance_uuid", "deleted", "created_at"],
            unique=False,
        )

    op.create_table(
        "instance_info_caches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_info", sa.Text(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "instance_uuid", name="uniq_instance_info_caches0instance_uuid"
        ),
    )
    op.create_table(
        "instance_metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_metadata", schema=None) as batch_op:
        batch_op.create_index(
            "instance_metadata_instance_uuid_idx",
            ["instance_uuid"],
            unique=False,
        )

    op.create_table(
        "instance_system_metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(
        "instance_system_metadata", schema=None
    ) as batch_op:
        batch_op.create_index(
            "instance_system_metadata_instance_uuid_idx",
            ["instance_uuid"],
            unique=False,
        )

    op.create_table(
        "instance_type_extra_specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("instance_type_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_type_id"],
            ["instance_types.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "instance_type_id",
            "key",
            "deleted",
            name="uniq_instance_type_extra_specs0instance_type_id0key0deleted",
        ),
    )
    op.create_table(
        "instance_type_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_type_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_type_id"],
            ["instance_types.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "instance_type_id",
            "project_id",
            "deleted",
            name="uniq_instance_type_projects0instance_type_id0project_id0deleted",
        ),
    )
    op.create_table(
        "iscsi_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_num", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "target_num",
            "host",
            "deleted",
            name="uniq_iscsi_targets0target_num0host0deleted",
        ),
    )
    with op.batch_alter_table("iscsi_targets", schema=None) as batch_op:
        batch_op.create_index(
            "iscsi_targets_host_volume_id_deleted_idx",
            ["host", "volume_id", "deleted"],
            unique=False,
        )

    op.create_table(
        "migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_compute", sa.String(length=255), nullable=True),
        sa.Column("dest_compute", sa.String(length=255), nullable=True),
        sa.Column("dest_host", sa.String(length=255), nullable=True),
        sa.Column("old_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("new_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("migrations", schema=None) as batch_op:
        batch_op.create_index(
            "migrations_instance_uuid_and_status_idx",
            ["instance_uuid", "status"],
            unique=False,
        )

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("usage_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("resource", sa.String(length=255), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("expire", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["usage_id"],
            ["quota_usages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid", name="uniq_reservations0uuid"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reservations_project_id"),
            ["project_id"],
            unique=False,
        )

    op.create_table(
        "security_group_instance_association",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("security_group_id", sa.Integer(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instances.uuid"],
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["security_groups.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(
        "security_group_instance_association", schema=None
    ) as batch_op:
        batch_op.create_index(
            "security_group_instance_association_instance_uuid_idx",
            ["instance_uuid"],
            unique=False,
        )

    op.create_table(
        "security_group_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_group_id", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=5), nullable=True),
        sa.Column("from_port", sa.Integer(), nullable=True),
        sa.Column("to_port", sa.Integer(), nullable=True),
        sa.Column("cidr", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["security_groups.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_group_id"],
            ["security_groups.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sm_backend_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flavor_id", sa.Integer(), nullable=False),
        sa.Column("sr_uuid", sa.String(length=255), nullable=True),
        sa.Column("sr_type", sa.String(length=255), nullable=True),
        sa.Column("config_params", sa.String(length=2047), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_id"],
            ["sm_flavors.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "sr_uuid", "deleted", name="uniq_sm_backend_config0sr_uuid0deleted"
        ),
    )
    op.create_table(
        "volume_metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volumes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "volume_type_extra_specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("volume_type_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_types.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "volume_type_id",
            "key",
            "deleted",
            name="uniq_volume_type_extra_specs0volume_type_id0key0deleted",
        ),
    )
    op.create_table(
        "compute_node_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=511), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("compute_node_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["compute_node_id"],
            ["compute_nodes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("compute_node_stats", schema=None) as batch_op:
        batch_op.create_index(
            "compute_node_stats_node_id_and_deleted_idx",
            ["compute_node_id", "deleted"],
            unique=False,
        )

    op.create_table(
        "sm_volume",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("backend_id", sa.Integer(), nullable=False),
        sa.Column("vdi_uuid", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["backend_id"],
            ["sm_backend_config.id"],
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["volumes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("sm_volume")
    with op.batch_alter_table("compute_node_stats", schema=None) as batch_op:
        batch_op.drop_index("compute_node_stats_node_id_and_deleted_idx")

    op.drop_table("compute_node_stats")
    op.drop_table("volume_type_extra_specs")
    op.drop_table("volume_metadata")
    op.drop_table("sm_backend_config")
    op.drop_table("security_group_rules")
    with op.batch_alter_table(
        "security_group_instance_association", schema=None
    ) as batch_op:
        batch_op.drop_index(
            "security_group_instance_association_instance_uuid_idx"
        )

    op.drop_table("security_group_instance_association")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_project_id"))

    op.drop_table("reservations")
    with op.batch_alter_table("migrations", schema=None) as batch_op:
        batch_op.drop_index("migrations_instance_uuid_and_status_idx")

    op.drop_table("migrations")
    with op.batch_alter_table("iscsi_targets", schema=None) as batch_op:
        batch_op.drop_index("iscsi_targets_host_volume_id_deleted_idx")

    op.drop_table("iscsi_targets")
    op.drop_table("instance_type_projects")
    op.drop_table("instance_type_extra_specs")
    with op.batch_alter_table(
        "instance_system_metadata", schema=None
    ) as batch_op:
        batch_op.drop_index("instance_system_metadata_instance_uuid_idx")

    op.drop_table("instance_system_metadata")
    with op.batch_alter_table("instance_metadata", schema=None) as batch_op:
        batch_op.drop_index("instance_metadata_instance_uuid_idx")

    op.drop_table("instance_metadata")
    op.drop_table("instance_info_caches")
    with op.batch_alter_table("instance_faults", schema=None) as batch_op:
        batch_op.drop_index(
            "instance_faults_instance_uuid_deleted_created_at_idx"
        )

    op.drop_table("instance_faults")
    with op.batch_alter_table("consoles", schema=None) as batch_op:
        batch_op.drop_index("consoles_instance_uuid_idx")

    op.drop_table("consoles")
    op.drop_table("compute_nodes")
    with op.batch_alter_table("block_device_mapping", schema=None) as batch_op:
        batch_op.drop_index("block_device_mapping_instance_uuid_idx")

    op.drop_table("block_device_mapping")
    with op.batch_alter_table("aggregate_metadata", schema=None) as batch_op:
        batch_op.drop_index("aggregate_metadata_key_idx")

    op.drop_table("aggregate_metadata")
    op.drop_table("aggregate_hosts")
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.drop_index("volumes_instance_uuid_idx")
        batch_op.drop_index("volumes_host_idx")

    op.drop_table("volumes")
    op.drop_table("volume_types")
    with op.batch_alter_table("volume_id_mappings", schema=None) as batch_op:
        batch_op.drop_index("ix_volume_id_mappings_uuid")

    op.drop_table("volume_id_mappings")
    with op.batch_alter_table("virtual_interfaces", schema=None) as batch_op:
        batch_op.drop_index("virtual_interfaces_network_id_idx")
        batch_op.drop_index("virtual_interfaces_instance_uuid_idx")

    op.drop_table("virtual_interfaces")
    op.drop_table("task_log")
    op.drop_table("snapshots")
    with op.batch_alter_table("snapshot_id_mappings", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshot_id_mappings_uuid")

    op.drop_table("snapshot_id_mappings")
    op.drop_table("sm_flavors")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index("services_host_topic_idx")

    op.drop_table("services")
    op.drop_table("security_groups")
    with op.batch_alter_table("s3_images", schema=None) as batch_op:
        batch_op.drop_index("ix_s3_images_uuid")

    op.drop_table("s3_images")
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotas_project_id"))

    op.drop_table("quotas")
    with op.batch_alter_table("quota_usages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_usages_project_id"))

    op.drop_table("quota_usages")
    with op.batch_alter_table("quota_classes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_classes_class_name"))

    op.drop_table("quota_classes")
    op.drop_table("provider_fw_rules")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index("networks_uuid_project_id_deleted_idx")
        batch_op.drop_index("networks_project_id_deleted_idx")
        batch_op.drop_index("networks_host_idx")

    op.drop_table("networks")
    op.drop_table("key_pairs")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("instances_task_state_updated_at_idx")
        batch_op.drop_index("instances_reservation_id_idx")
        batch_op.drop_index("instances_project_id_deleted_idx")
        batch_op.drop_index("instances_host_deleted_idx")

    op.drop_table("instances")
    op.drop_table("instance_types")
    with op.batch_alter_table("instance_id_mappings", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_id_mappings_uuid")

    op.drop_table("instance_id_mappings")
    with op.batch_alter_table("floating_ips", schema=None) as batch_op:
        batch_op.drop_index("floating_ips_project_id_idx")
        batch_op.drop_index(
            "floating_ips_pool_deleted_fixed_ip_id_project_id_idx"
        )
        batch_op.drop_index("floating_ips_host_idx")

    op.drop_table("floating_ips")
    with op.batch_alter_table("fixed_ips", schema=None) as batch_op:
        batch_op.drop_index("fixed_ips_virtual_interface_id_idx")
        batch_op.drop_index("fixed_ips_network_id_host_deleted_idx")
        batch_op.drop_index("fixed_ips_instance_uuid_idx")
        batch_op.drop_index(
            "fixed_ips_address_reserved_network_id_deleted_idx"
        )

    op.drop_table("fixed_ips")
    with op.batch_alter_table("dns_domains", schema=None) as batch_op:
        batch_op.drop_index("dns_domains_project_id_idx")

    op.drop_table("dns_domains")
    op.drop_table("console_pools")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("certificates_user_id_deleted_idx")
        batch_op.drop_index("certificates_project_id_deleted_idx")

    op.drop_table("certificates")
    with op.batch_alter_table("bw_usage_cache", schema=None) as batch_op:
        batch_op.drop_index("bw_usage_cache_uuid_start_period_idx")

    op.drop_table("bw_usage_cache")
    op.drop_table("aggregates")
    op.drop_table("agent_builds")
