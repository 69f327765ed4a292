"""Options, the generator's list, and the example configuration."""

import configparser
import pathlib

import db.options
from conductor import opts

ROOT = pathlib.Path(__file__).resolve().parents[2]


def known_options():
    known = {}
    for group, group_opts in opts.list_opts():
        name = getattr(group, "name", group) or "DEFAULT"
        known.setdefault(name, set()).update(o.dest for o in group_opts)
    return known


def test_list_opts_has_the_database_layer_and_the_conductor():
    known = known_options()

    for group, group_opts in db.options.list_opts():
        name = getattr(group, "name", group) or "DEFAULT"
        assert {o.dest for o in group_opts} <= known[name]
    assert {"transport_url", "sql_connection", "db_backend"} <= (
        known["DEFAULT"]
    )
    assert {"topic", "workers", "worker_threads", "rpc_timeout", "driver",
            "heartbeat_timeout", "prefetch_count", "use_ssl"} <= (
        known["conductor"]
    )


def test_fixed_names_and_defaults():
    assert opts.CONF.conductor.topic == "conductor"
    assert opts.CONF.conductor.driver == "kombu"


def _example_keys():
    """Every ``key = value`` of etc/conductor.conf, commented or not."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    text = (ROOT / "etc" / "conductor.conf").read_text()
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip("#").strip()
        if stripped.startswith("[") or (
            "=" in stripped and not line.startswith("# ")
        ):
            lines.append(stripped)
    parser.read_string("\n".join(lines))
    for section in ["DEFAULT", *parser.sections()]:
        own = parser[section]
        keys = set(own) if section == "DEFAULT" else set(
            own) - set(parser.defaults())
        yield section, keys


def test_the_example_config_names_only_real_options():
    known = known_options()

    for section, keys in _example_keys():
        assert section in known, section
        assert keys <= known[section], (section, keys - known[section])


def test_the_generator_config_names_our_namespace():
    text = (ROOT / "etc" / "conductor-config-generator.conf").read_text()

    assert "namespace = db-conductor" in text
    setup = (ROOT / "setup.cfg").read_text()
    assert "db-conductor = conductor.opts:list_opts" in setup
