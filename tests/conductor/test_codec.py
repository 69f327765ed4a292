"""The codec: what crosses the wire comes back equal in value and type."""

import collections
import datetime
import decimal
import enum
import uuid

import msgpack
import pytest

from conductor import codec
from conductor.exception import SerializationError
from db import conditions
from db.rows import Row

UTC = datetime.UTC


def roundtrip(value):
    return codec.loads(codec.dumps(value))


def same(a, b):
    """Equal, and of the same type all the way down."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64 + 5, -(2**80),
        1.5, "text", "ünïcode", b"\x00bytes",
        [1, "a", None], {"a": 1}, {1: "int key"},
        (1, 2), (), ((1, 2), [3, (4,)]), {1, 2}, set(), frozenset({"a"}),
        decimal.Decimal("12.340"), uuid.UUID(int=7),
        datetime.date(2024, 2, 29), datetime.time(12, 30, 1, 5),
        datetime.timedelta(days=-1, seconds=5, microseconds=7),
    ],
    ids=repr,
)
def test_values_keep_value_and_type(value):
    same(value, roundtrip(value))


def test_aware_datetimes_stay_aware_and_correct():
    aware = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    offset = datetime.datetime(
        2024, 5, 6, 9, 8, 9, tzinfo=datetime.timezone(
            datetime.timedelta(hours=2)
        )
    )

    back = roundtrip([aware, offset])

    assert back[0] == aware and back[0].tzinfo is UTC
    assert back[1] == offset
    assert back[1].utcoffset() == datetime.timedelta(hours=2)


def test_naive_datetimes_stay_naive():
    naive = datetime.datetime(2024, 5, 6, 7, 8, 9)

    back = roundtrip(naive)

    assert back == naive and back.tzinfo is None


def test_rows_stay_rows_with_their_nested_relationships():
    created = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    row = Row(
        id=1, uuid="u", created_at=created,
        instance_type=Row(id=3, name="m1.tiny"),
        metadata=[Row(key="k", value="v")],
        security_groups=[Row(id=1, rules=[Row(id=9, cidr="10.0.0.0/8")])],
    )

    back = roundtrip(row)

    same(row, back)
    assert back.instance_type.name == "m1.tiny"
    assert back.security_groups[0].rules[0].cidr == "10.0.0.0/8"
    assert back["created_at"].tzinfo is UTC


def test_results_shaped_like_the_api_keep_their_types():
    """A tuple of rows (instance_update_and_get_original), a list of
    tuples (service_get_all_compute_sorted), a dict of sets
    (aggregate_metadata_get_by_host)."""
    results = [
        (Row(vm_state="building"), Row(vm_state="active")),
        [(Row(host="a"), 3), (Row(host="b"), 0)],
        {"availability_zone": {"az1", "az2"}},
    ]

    for result in results:
        same(result, roundtrip(result))


def test_no_depth_limit_and_no_truncation():
    deep = value = []
    for _ in range(200):
        inner = [Row(level=len(deep))]
        value.append(inner)
        value = inner
    many = [Row(id=i, name=f"n{i}", items=(i, {i})) for i in range(5000)]

    assert roundtrip(deep) == deep
    same(many, roundtrip(many))


def test_condition_objects_cross_and_still_work():
    built = conditions.Constraint(
        {
            "vm_state": conditions.EqualityCondition(["active", "error"]),
            "task_state": conditions.InequalityCondition([None, "deleting"]),
        }
    )

    back = roundtrip(built)

    assert back == built
    assert type(back.conditions["task_state"]) is (
        conditions.InequalityCondition
    )
    assert back.conditions["vm_state"].values == ("active", "error")


class Color(enum.IntEnum):
    RED = 1


class Opaque:
    pass


@pytest.mark.parametrize(
    "value",
    [Opaque(), Color.RED, collections.OrderedDict(a=1),
     collections.defaultdict(list), lambda: 1, {"nested": [object()]}],
    ids=["object", "int-enum", "ordered-dict", "defaultdict", "function",
         "nested-object"],
)
def test_unknown_types_fail_loudly_on_the_sending_side(value):
    with pytest.raises(SerializationError) as info:
        codec.dumps({"x": value}, what="the arguments of instance_create")

    message = str(info.value)
    assert "the arguments of instance_create" in message
    assert "no wire encoding for" in message


def test_serialization_error_is_a_type_error_and_a_db_error():
    from db import exception

    with pytest.raises(TypeError):
        codec.dumps(Opaque())
    with pytest.raises(exception.DBConductorError):
        codec.dumps(Opaque())


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01", msgpack.packb(msgpack.ExtType(99, b"x")),
     msgpack.packb(msgpack.ExtType(codec.DATETIME, b"not a date"))],
    ids=["empty", "reserved-byte", "truncated", "unknown-ext", "bad-ext"],
)
def test_undecodable_bytes_raise_decode_error(data):
    with pytest.raises(codec.DecodeError):
        codec.loads(data)
