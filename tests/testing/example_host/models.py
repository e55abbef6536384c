"""The host's own tables, separate from the threeregs tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the host's tables."""

    metadata = MetaData()


class HostCase(Base):
    """A case as the host application stores it."""

    __tablename__ = "example_host_cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    business_line: Mapped[str] = mapped_column(String(32))
    office_code: Mapped[str] = mapped_column(String(16))
    #: The host's own record of the stage; it must always match the gate's.
    stage: Mapped[str] = mapped_column(String(48))
    handler_id: Mapped[str | None] = mapped_column(String(64), default=None)


class StageChange(Base):
    """The host's log of stage changes, shown on its case history screen."""

    __tablename__ = "example_host_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey(HostCase.case_id))
    from_stage: Mapped[str] = mapped_column(String(48))
    to_stage: Mapped[str] = mapped_column(String(48))
    #: When the stage changed, in UTC without a time zone, as the host stores times.
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
