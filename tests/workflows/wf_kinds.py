"""Inputs and outputs of richer types: a pydantic model, an Enum, datetimes, Optional."""

from __future__ import annotations

import datetime
import enum

import pydantic

from rillet import task, workflow


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Cfg(pydantic.BaseModel):
    name: str
    depth: int = 2


@task
def show(cfg: Cfg, color: Color, when: datetime.datetime, maybe: int | None,
         d: datetime.timedelta) -> Cfg:
    return Cfg(name=f"{cfg.name}-{color.value}-{when.isoformat()}-{maybe}-{d.total_seconds()}",
               depth=cfg.depth + 1)


@workflow
def kinds(cfg: Cfg, color: Color, when: datetime.datetime, d: datetime.timedelta,
          maybe: int | None = None) -> Cfg:
    return show(cfg=cfg, color=color, when=when, maybe=maybe, d=d)
