"""Pure logic of the service: ids and paths, ranges, Prefer, file names, LIKE escaping, settings, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest

from app.domain.generations.controllers import parse_prefer_wait
from app.domain.generations.services import escape_like
from app.jobs.queue import JobQueue, QueueFull
from app.lib.errors import ApiError
from app.lib.ranges import RangeNotSatisfiable, parse_range
from app.lib.rate_limits import DEFAULT_LIMITS, limits, rate_limit_config
from app.lib.storage import (
    AudioStorage,
    content_disposition,
    download_filename,
    is_valid_id,
    new_generation_id,
)
from app.settings import Settings


def test_ids_are_strict_hex_tokens(tmp_path: Path) -> None:
    storage = AudioStorage(tmp_path)
    generation_id = new_generation_id()
    assert is_valid_id(generation_id)
    assert storage.path_for(generation_id) == tmp_path.resolve() / f"{generation_id}.wav"
    for bad in (
        "../../etc/passwd",
        "..",
        "",
        generation_id.upper(),
        generation_id + "\n",
        generation_id[:-1] + "/",
    ):
        assert not is_valid_id(bad)
        with pytest.raises(ValueError, match="not a generation id"):
            storage.path_for(bad)
        assert not storage.exists(bad)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-1,3-4", None),
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_prefer_wait() -> None:
    assert parse_prefer_wait(None) is None
    assert parse_prefer_wait("respond-async") is None
    assert parse_prefer_wait("wait=5") == 5
    assert parse_prefer_wait("respond-async, wait=60") == 60
    assert parse_prefer_wait("wait=61") == 60  # capped, not refused
    assert parse_prefer_wait("wait=600000") == 60
    for bad in ("wait=-1", "wait=abc", "wait=1.5", "wait=²", "wait=٣", "wait="):
        with pytest.raises(ApiError) as caught:
            parse_prefer_wait(bad)
        assert caught.value.field == "Prefer"


def test_download_names_are_safe() -> None:
    name = download_filename('Çafé "x"\r\n; rm -rf / ../..', "0123456789abcdef0123456789abcdef", "mp3")
    assert name == "musicgenie-çafé-x-rm-rf-01234567.mp3"
    mixed = download_filename(
        "🎹 lo-fi ☕ 日本語 مرحبا \u202e RTL\x1b[0m", "0123456789abcdef0123456789abcdef", "ogg"
    )
    assert mixed == "musicgenie-lo-fi-日本語-مرحبا-rtl-0m-01234567.ogg"  # no emoji, escape or direction mark
    header = content_disposition(mixed)
    assert header.startswith('attachment; filename="musicgenie-lo-fi-rtl-0m-01234567.ogg"; ')
    assert header.endswith("filename*=UTF-8''" + quote(mixed, safe=""))
    assert (
        download_filename("!!!", "0123456789abcdef0123456789abcdef", "wav") == "musicgenie-music-01234567.wav"
    )
    assert content_disposition("musicgenie-çafé-1.mp3").startswith(
        'attachment; filename="musicgenie-cafe-1.mp3"'
    )
    header = content_disposition('a"b\r\nc.wav')
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('attachment; filename="a_b__c.wav"')


def test_escape_like() -> None:
    assert escape_like("100%_\\") == "100\\%\\_\\\\"
    assert escape_like("plain") == "plain"


def test_settings_defaults_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MODEL", "CORS_ORIGINS", "RATE_LIMITS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./data/musicgenie.db"
    assert settings.sqlite_path() == Path("data/musicgenie.db")
    assert settings.model == "facebook/musicgen-small"
    assert (
        Settings(_env_file=None, database_url="postgresql://u@h/db").database_url
        == "postgresql+asyncpg://u@h/db"
    )
    monkeypatch.setenv("CORS_ORIGINS", "http://a, http://b")
    monkeypatch.setenv("RATE_LIMITS", '{"generate": 20}')
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["http://a", "http://b"]
    assert limits(settings)["generate"] == 20
    assert limits(settings)["recent"] == 30


def test_each_limit_has_its_own_store() -> None:
    stores = {rate_limit_config(name, n).store for name, n in DEFAULT_LIMITS.items()}
    assert len(stores) == len(DEFAULT_LIMITS) == 12
    assert DEFAULT_LIMITS["generate"] == 10
    assert DEFAULT_LIMITS["model_reload"] == 2
    with pytest.raises(ValueError, match="unknown limits"):
        limits(Settings(_env_file=None, rate_limits={"nope": 1}))


def test_queue_bound_counts_reservations() -> None:
    async def scenario() -> None:
        queue = JobQueue(capacity=2)
        with queue.reserve():
            await queue.put("a")
        with queue.reserve(), pytest.raises(QueueFull):  # one waiting, one reserved: full
            queue.reserve().__enter__()
        with queue.reserve():
            await queue.put("b")
        with pytest.raises(QueueFull) as caught:
            queue.reserve().__enter__()
        assert caught.value.retry_after >= 1
        assert queue.remove("b")
        assert not queue.remove("b")
        assert await queue.get() == "a"
        assert queue.depth == 0

    asyncio.run(scenario())


def test_queue_positions_count_the_taken_job_until_it_starts() -> None:
    async def scenario() -> None:
        changes: list[dict[str, int]] = []
        queue = JobQueue(capacity=4)
        queue.on_change = lambda: changes.append(queue.positions())
        for name in "abc":
            await queue.put(name)
        assert [queue.position(name) for name in "abc"] == [1, 2, 3]
        assert await queue.get() == "a"
        assert queue.positions() == {"a": 1, "b": 2, "c": 3}  # taken, not started: still first in line
        queue.taken_done("a")
        assert queue.positions() == {"b": 1, "c": 2}
        assert queue.position("a") is None
        assert queue.remove("b")
        assert queue.position("c") == 1
        assert queue.position("zzz") is None
        assert changes == [{"b": 1, "c": 2}, {"c": 1}]

    asyncio.run(scenario())


def test_env_example_lists_every_setting_with_its_default() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    names = {line.split("=", 1)[0] for line in example.read_text().splitlines() if line and line[0] != "#"}
    assert names == {name.upper() for name in Settings.model_fields}
    assert Settings(_env_file=example) == Settings(_env_file=None)
