"""Database work on `music_generations`; every counter is one atomic UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import OffsetPagination, SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, UnaryExpression, func, select, update

from app.db.models import CANCELED, QUEUED, RUNNING, SUCCEEDED, MusicGeneration, User, utcnow
from app.lib.errors import not_found
from app.lib.storage import is_valid_id
from inference import PHASES

NEWEST_FIRST = (MusicGeneration.created_at.desc(), MusicGeneration.id.desc())


class GenerationRepository(SQLAlchemyAsyncRepository[MusicGeneration]):
    """Rows of `music_generations`."""

    model_type = MusicGeneration


class GenerationService(SQLAlchemyAsyncRepositoryService[MusicGeneration, GenerationRepository]):
    """Queries and atomic updates of generations."""

    repository_type = GenerationRepository

    async def find(self, generation_id: str) -> MusicGeneration | None:
        """The row of an id, or None (also for anything that is not an id)."""
        if not is_valid_id(generation_id):
            return None
        return await self.get_one_or_none(MusicGeneration.generation_id == generation_id)

    async def require(self, generation_id: str) -> MusicGeneration:
        """The row of an id; `NotFound` (the API's 404) when there is none."""
        row = await self.find(generation_id)
        if row is None:
            raise not_found("generation", generation_id)
        return row

    async def user_exists(self, user_id: int) -> bool:
        return (await self.repository.session.scalar(select(User.id).where(User.id == user_id))) is not None

    async def recent(
        self,
        limit: int,
        offset: int = 0,
        status: str | None = None,
        favorite: bool | None = None,
        batch_id: str | None = None,
    ) -> OffsetPagination[MusicGeneration]:
        """A page of generations, newest first, and how many match in all."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(MusicGeneration.status == status)
        if batch_id is not None:
            conditions.append(MusicGeneration.batch_id == batch_id)
        return await self._page(conditions, limit, offset, favorite)

    async def most_played(self, limit: int, offset: int = 0) -> OffsetPagination[MusicGeneration]:
        """A page of finished generations played at least once, most played first, and how many there are."""
        conditions = [MusicGeneration.status == SUCCEEDED, MusicGeneration.play_count > 0]
        order = [MusicGeneration.play_count.desc(), *NEWEST_FIRST]
        return await self._page(conditions, limit, offset, None, order)

    async def search(
        self, query: str, limit: int, offset: int = 0, favorite: bool | None = None
    ) -> OffsetPagination[MusicGeneration]:
        """Prompts containing `query`, case-insensitively; `%`, `_` and `\\` match themselves."""
        pattern = f"%{escape_like(query.lower())}%"
        conditions = [func.lower(MusicGeneration.prompt).like(pattern, escape="\\")]
        return await self._page(conditions, limit, offset, favorite)

    async def _page(
        self,
        conditions: list[ColumnElement[bool]],
        limit: int,
        offset: int,
        favorite: bool | None,
        order: list[UnaryExpression[Any]] | None = None,
    ) -> OffsetPagination[MusicGeneration]:
        """Rows matching every condition in a total order (the id breaks ties: pages never overlap).

        The count is its own query (not a window over the page), so a page past the end still says
        how many there are.
        """
        if favorite is not None:
            conditions = [*conditions, MusicGeneration.is_favorited == favorite]
        filters = [LimitOffset(limit=limit, offset=offset), *conditions]
        rows, total = await self.get_many_and_count(
            *filters, order_by=list(order or NEWEST_FIRST), count_with_window_function=False
        )
        return self.to_schema(rows, total, filters=filters)

    async def _update_returning(self, generation_id: str, where: Sequence[Any], **values: Any) -> Any:
        if not is_valid_id(generation_id):
            return None
        statement = (
            update(MusicGeneration)
            .where(MusicGeneration.generation_id == generation_id, *where)
            .values(**values)
            .returning(MusicGeneration)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        row = (await self.repository.session.execute(statement)).scalar_one_or_none()
        await self.repository.session.commit()
        return row

    async def track_play(self, generation_id: str) -> MusicGeneration | None:
        """play_count + 1 and last_played = now, in one UPDATE (exact under concurrency)."""
        now = utcnow()
        return await self._update_returning(
            generation_id,
            [MusicGeneration.status == SUCCEEDED],
            play_count=MusicGeneration.play_count + 1,
            last_played=now,
        )

    async def set_favorite(self, generation_id: str, favorite: bool | None) -> MusicGeneration:
        """Set the favourite flag (idempotent), or toggle it when `favorite` is None; `NotFound` without
        a row."""
        value = ~MusicGeneration.is_favorited if favorite is None else favorite
        row = await self._update_returning(generation_id, [], is_favorited=value)
        if row is None:
            raise not_found("generation", generation_id)
        return row

    async def count_download(self, generation_id: str) -> MusicGeneration | None:
        return await self._update_returning(
            generation_id,
            [MusicGeneration.status == SUCCEEDED],
            download_count=MusicGeneration.download_count + 1,
        )

    async def cancel_if_queued(self, generation_id: str) -> MusicGeneration | None:
        """Mark a waiting job canceled; None when it was not waiting any more."""
        now = utcnow()
        return await self._update_returning(
            generation_id,
            [MusicGeneration.status == QUEUED],
            status=CANCELED,
            error_type="canceled",
            error_message="canceled before it started",
            progress_eta_s=None,
            finished_at=now,
            updated_at=now,
        )

    async def start(self, generation_id: str, worker: str | None = None) -> MusicGeneration | None:
        """queued -> running on `worker`; None when the job is not queued any more (canceled meanwhile)."""
        now = utcnow()
        return await self._update_returning(
            generation_id,
            [MusicGeneration.status == QUEUED],
            status=RUNNING,
            started_at=now,
            updated_at=now,
            progress_phase=PHASES[0],
            worker=worker,
        )

    async def count_queued(self) -> int:
        """Jobs waiting, across every service process."""
        statement = select(func.count()).select_from(MusicGeneration).where(MusicGeneration.status == QUEUED)
        return int((await self.repository.session.execute(statement)).scalar_one())

    async def queue_positions(self, generation_ids: Sequence[str] | None = None) -> dict[str, int]:
        """The 1-based place of waiting jobs in submission order (of `generation_ids`, or all)."""
        place = func.row_number().over(order_by=(MusicGeneration.created_at, MusicGeneration.id))
        ranked = (
            select(MusicGeneration.generation_id, place.label("place"))
            .where(MusicGeneration.status == QUEUED)
            .subquery()
        )
        statement = select(ranked.c.generation_id, ranked.c.place)
        if generation_ids is not None:
            statement = statement.where(ranked.c.generation_id.in_(list(generation_ids)))
        return {row[0]: int(row[1]) for row in (await self.repository.session.execute(statement)).all()}

    async def set_fields(self, generation_id: str, **values: Any) -> MusicGeneration | None:
        """Update columns of one row and commit."""
        values.setdefault("updated_at", utcnow())
        return await self._update_returning(generation_id, [], **values)

    async def ids_with_status(self, status: str) -> list[str]:
        statement = (
            select(MusicGeneration.generation_id)
            .where(MusicGeneration.status == status)
            .order_by(MusicGeneration.created_at, MusicGeneration.id)
        )
        return list((await self.repository.session.scalars(statement)).all())

    async def remove(self, generation_id: str) -> None:
        await self.delete_where(MusicGeneration.generation_id == generation_id, auto_commit=True)


def escape_like(text: str) -> str:
    """Escape LIKE's wildcards (and the escape character) so they match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
