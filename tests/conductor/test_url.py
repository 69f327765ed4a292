"""Transport URLs in oslo.messaging's and kombu's forms."""

import pytest

from conductor import _url
from conductor.drivers import oslo_driver
from db import exception


def test_oslo_form_with_several_hosts_and_a_vhost():
    url = _url.parse(
        "rabbit://u1:p%40ss@host1:5672,u2:secret@host2:5673/my%2Fvhost"
    )

    assert url.scheme == "rabbit"
    assert [(h.hostname, h.port, h.username, h.password)
            for h in url.hosts] == [
        ("host1", 5672, "u1", "p@ss"), ("host2", 5673, "u2", "secret")
    ]
    assert url.virtual_host == "my/vhost"
    assert url.endpoints() == "host1:5672,host2:5673"


@pytest.mark.parametrize(
    "text,vhost",
    [("amqp://guest:guest@127.0.0.1:5672//", "/"),
     ("amqp://guest:guest@127.0.0.1:5672/", "/"),
     ("amqp://h", "/"),
     ("rabbit://h/nova", "nova")],
)
def test_vhost_forms(text, vhost):
    assert _url.parse(text).virtual_host == vhost


def test_tls_from_the_scheme_or_the_query():
    assert _url.parse("amqps://h").use_ssl
    assert _url.parse("amqps://h").default_port == 5671
    assert _url.parse("rabbit://h/?ssl=1").use_ssl
    assert not _url.parse("rabbit://h/").use_ssl


def test_ipv6_hosts():
    url = _url.parse("amqp://u:p@[::1]:5673/")

    assert url.hosts[0].hostname == "::1"
    assert url.endpoints() == "[::1]:5673"


def test_masked_form_never_shows_a_password():
    url = _url.parse("rabbit://user:topsecret@h1,other:hunter2@h2:1/v")

    masked = url.masked()

    assert "topsecret" not in masked and "hunter2" not in masked
    assert masked == "rabbit://user:***@h1:5672,other:***@h2:1/v"
    assert "topsecret" not in repr(url)


def test_memory_transport():
    url = _url.parse("memory://")

    assert url.is_memory and url.hosts == ()
    assert url.masked() == "memory://"


@pytest.mark.parametrize(
    "text", ["http://h/", "rabbit://h:99999/", "rabbit://h:port/", "nope"]
)
def test_unusable_urls_are_invalid_input(text):
    with pytest.raises(exception.InvalidInput):
        _url.parse(text)


def test_an_invalid_url_error_hides_credentials():
    with pytest.raises(exception.InvalidInput) as info:
        _url.parse("rabbit://user:topsecret@h:99999/")
    assert "topsecret" not in str(info.value)


def test_oslo_driver_gets_its_own_url_form():
    url = _url.parse("amqp://u:p%40ss@h1:5672,h2/v")

    assert oslo_driver.oslo_url(url) == "rabbit://u:p%40ss@h1:5672,h2:5672/v"
    assert oslo_driver.oslo_url(_url.parse("memory://")) == "fake://"
