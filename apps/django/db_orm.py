"""Database access through the Django ORM: psycopg 3 on Postgres, PyMySQL on MySQL; connections kept open."""

from __future__ import annotations

import labapp_common as common
from django.db import models
from django.db.models import Case, IntegerField, Value, When


class World(models.Model):  # type: ignore[misc]
    id = models.IntegerField(primary_key=True)
    randomnumber = models.IntegerField()

    class Meta:
        app_label = "lab"
        db_table = "world"


class Fortune(models.Model):  # type: ignore[misc]
    id = models.IntegerField(primary_key=True)
    message = models.CharField(max_length=2048)

    class Meta:
        app_label = "lab"
        db_table = "fortune"


class DemoData(models.Model):  # type: ignore[misc]
    """The lookup type's table; its time columns stay out of the model (the route reads none)."""

    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=common.NAME_MAX)

    class Meta:
        app_label = "lab"
        db_table = "demo_data"


def random_world() -> dict[str, int]:
    world = World.objects.get(id=common.random_id())
    return {"id": world.id, "randomNumber": world.randomnumber}


def random_worlds(n: int) -> list[dict[str, int]]:
    worlds = []
    for world_id in common.random_ids(n):
        world = World.objects.get(id=world_id)
        worlds.append({"id": world.id, "randomNumber": world.randomnumber})
    return worlds


def fortunes() -> list[tuple[int, str]]:
    return [(f.id, f.message) for f in Fortune.objects.all()]


def update_worlds(n: int) -> list[dict[str, int]]:
    worlds = [World.objects.get(id=world_id) for world_id in common.distinct_random_ids(n)]
    for world in worlds:
        world.randomnumber = common.new_random_number(world.randomnumber)
    # One UPDATE ... SET randomnumber = CASE WHEN id = ... END for all rows (updates_write: bulk): the
    # statement bulk_update() builds, without the BEGIN/COMMIT it wraps around its batches (two round trips).
    cases = (When(id=w.id, then=Value(w.randomnumber)) for w in worlds)
    new_numbers = Case(*cases, output_field=IntegerField())
    World.objects.filter(id__in=[w.id for w in worlds]).update(randomnumber=new_numbers)
    return [{"id": w.id, "randomNumber": w.randomnumber} for w in worlds]


def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup.

    exists() is SELECT 1 ... WHERE name = %s LIMIT 1; first() would add ORDER BY id, with which the planner
    may walk the primary key's index instead of the name's.
    """
    return bool(DemoData.objects.filter(name=name).exists())
