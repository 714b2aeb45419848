"""Every stage change and alias move is recorded: who was in Production (or held @alias) at T."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from nbtrack.entities import RegistrySnapshot
from nbtrack.errors import InvalidAlias, InvalidParameter, InvalidStage, NotFound


def _tick() -> int:
    """Now in ms, strictly after the previous change and before the next one."""
    time.sleep(0.01)
    now = time.time_ns() // 1_000_000
    time.sleep(0.01)
    return now


@pytest.fixture
def timeline(client):
    """v1 Production, then v2 replaces it; @champion follows; v2 is deleted at the end."""
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", "s3://bucket/model")
    points = {"created": _tick()}
    client.transition_model_version_stage("m", 1, "Production")
    client.set_registered_model_alias("m", "champion", 1)
    points["v1_live"] = _tick()
    client.transition_model_version_stage("m", 2, "Staging")
    points["v2_staging"] = _tick()
    client.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    client.set_registered_model_alias("m", "champion", 2)
    points["v2_live"] = _tick()
    client.delete_model_version("m", 2)
    points["v2_deleted"] = _tick()
    return points


def test_who_was_in_production_at_each_time(client, timeline):
    expected = {"created": None, "v1_live": 1, "v2_staging": 1, "v2_live": 2, "v2_deleted": None}
    for point, version in expected.items():
        assert client.get_model_version_at("m", timeline[point], stage="Production") == version, point
        assert client.get_model_version_at("m", timeline[point], stage="production") == version
    assert client.get_model_version_at("m", timeline["v2_staging"], stage="Staging") == 2
    assert client.get_model_version_at("m", timeline["v2_live"], stage="Archived") == 1


def test_who_held_an_alias_at_each_time(client, timeline):
    expected = {"created": None, "v1_live": 1, "v2_staging": 1, "v2_live": 2, "v2_deleted": None}
    for point, version in expected.items():
        assert client.get_model_version_at("m", timeline[point], alias="champion") == version, point


def test_snapshot_replays_stages_and_aliases(client, timeline):
    snap = client.get_registry_snapshot("m", timeline["v2_live"])
    assert isinstance(snap, RegistrySnapshot)
    assert snap.stages == {1: "Archived", 2: "Production", 3: "None"}
    assert snap.aliases == {"champion": 2}
    assert snap.version_in("production") == 2 and snap.versions_in("None") == [3]
    assert client.get_registry_snapshot("m", timeline["v2_deleted"]).stages == {1: "Archived", 3: "None"}
    assert client.get_registry_snapshot("m", 0).stages == {}


def test_history_records_who_when_from_to(client, timeline):
    events = client.get_model_version_history("m")
    summary = [(e.kind, e.version, e.alias, e.from_value, e.to_value) for e in events]
    assert summary == [
        ("created", 1, None, None, "None"),
        ("created", 2, None, None, "None"),
        ("created", 3, None, None, "None"),
        ("stage", 1, None, "None", "Production"),
        ("alias", 1, "champion", None, "1"),
        ("stage", 2, None, "None", "Staging"),
        ("stage", 1, None, "Production", "Archived"),
        ("stage", 2, None, "Staging", "Production"),
        ("alias", 2, "champion", "1", "2"),
        ("alias", None, "champion", "2", None),
        ("deleted", 2, None, "Production", None),
    ]
    assert all(e.user_id and e.name == "m" for e in events)
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)
    assert timeline["v2_staging"] < events[6].timestamp == events[7].timestamp < timeline["v2_live"]


def test_history_of_one_version_and_until(client, timeline):
    v1 = [(e.kind, e.to_value) for e in client.get_model_version_history("m", 1)]
    assert v1 == [("created", "None"), ("stage", "Production"), ("alias", "1"), ("stage", "Archived"),
                  ("alias", "2")]
    early = client.get_model_version_history("m", until=timeline["v1_live"])
    assert [e.kind for e in early] == ["created", "created", "created", "stage", "alias"]


def test_times_as_datetime_date_and_iso_text(client, timeline):
    at = dt.datetime.fromtimestamp(timeline["v2_staging"] / 1000)
    assert client.get_model_version_at("m", at, stage="Production") == 1
    assert client.get_model_version_at("m", at.isoformat(), stage="Production") == 1
    assert client.get_model_version_at("m", at.astimezone(dt.UTC), stage="Production") == 1
    today = dt.date.fromtimestamp(timeline["v2_deleted"] / 1000)
    # a day means the state it closed with; the day before, nothing existed yet
    assert client.get_registry_snapshot("m", today).stages == {1: "Archived", 3: "None"}
    assert client.get_registry_snapshot("m", today.isoformat()).stages == {1: "Archived", 3: "None"}
    created_day = dt.date.fromtimestamp(timeline["created"] / 1000)
    assert client.get_registry_snapshot("m", created_day - dt.timedelta(days=1)).stages == {}
    with pytest.raises(InvalidParameter, match="ISO 8601"):
        client.get_registry_snapshot("m", "last tuesday")
    with pytest.raises(InvalidParameter):
        client.get_registry_snapshot("m", None)


def test_bad_history_queries(client, timeline):
    with pytest.raises(InvalidParameter, match="exactly one"):
        client.get_model_version_at("m", timeline["v1_live"])
    with pytest.raises(InvalidParameter, match="exactly one"):
        client.get_model_version_at("m", timeline["v1_live"], stage="Production", alias="champion")
    with pytest.raises(InvalidStage):
        client.get_model_version_at("m", timeline["v1_live"], stage="Prod")
    with pytest.raises(InvalidAlias):
        client.get_model_version_at("m", timeline["v1_live"], alias="latest")
    with pytest.raises(NotFound):
        client.get_model_version_history("nope")


def test_history_follows_a_rename(client, timeline):
    client.rename_registered_model("m", "renamed")
    events = client.get_model_version_history("renamed")
    assert events[-1].kind == "renamed" and (events[-1].from_value, events[-1].to_value) == ("m", "renamed")
    assert client.get_model_version_at("renamed", timeline["v1_live"], stage="Production") == 1
