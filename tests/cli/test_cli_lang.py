"""The language of the command's output: ``--lang``, ``THREEREGS_LANG`` and the POSIX locale."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cli_support import CHAIN, describe, error_line, invoke

if TYPE_CHECKING:
    from pathlib import Path

    from cli_support import Workspace

CHINESE_DB_INIT = "已保存 3216 个检察院\n"
ENGLISH_DB_INIT = "stored 3216 offices\n"


def _db_init(tmp_path: Path, *, lang: str | None, env: dict[str, str | None]) -> str:
    result = invoke(
        "db", "init", "--db", f"sqlite:///{tmp_path / 'host.sqlite3'}", lang=lang, env=env
    )
    assert result.exit_code == 0, describe(result)
    return result.stdout


@pytest.mark.parametrize(("lang", "expected"), [("zh", CHINESE_DB_INIT), ("en", ENGLISH_DB_INIT)])
def test_lang_option(tmp_path: Path, lang: str, expected: str) -> None:
    assert _db_init(tmp_path, lang=lang, env={}) == expected


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("zh_CN", CHINESE_DB_INIT),
        ("zh-Hans", CHINESE_DB_INIT),
        ("en", ENGLISH_DB_INIT),
        ("en_GB.UTF-8", ENGLISH_DB_INIT),
    ],
)
def test_lang_variable(tmp_path: Path, variable: str, expected: str) -> None:
    assert _db_init(tmp_path, lang=None, env={"THREEREGS_LANG": variable}) == expected


def test_lang_option_beats_variable(tmp_path: Path) -> None:
    output = _db_init(tmp_path, lang="zh", env={"THREEREGS_LANG": "en"})

    assert output == CHINESE_DB_INIT


def test_posix_locale_when_variable_unset(tmp_path: Path) -> None:
    output = _db_init(tmp_path, lang=None, env={"LANG": "en_US.UTF-8"})

    assert output == ENGLISH_DB_INIT


@pytest.mark.parametrize("posix", [None, "C", "C.UTF-8", "fr_FR.UTF-8"])
def test_chinese_by_default(tmp_path: Path, posix: str | None) -> None:
    output = _db_init(tmp_path, lang=None, env={"LANG": posix})

    assert output == CHINESE_DB_INIT


@pytest.mark.parametrize(("lang", "prefix"), [("zh", "错误: "), ("en", "error: ")])
def test_error_prefix(tmp_path: Path, lang: str, prefix: str) -> None:
    missing = tmp_path / "nope.sqlite3"

    result = invoke("keys", "export", "--db", f"sqlite:///{missing}", CHAIN[0], lang=lang)

    assert error_line(result, 3) == (
        f"{prefix}database file {str(missing)!r} not found; create it with `threeregs db init`"
    )


@pytest.mark.parametrize(
    ("lang", "prefix"), [("zh", "错误: 数据库错误："), ("en", "error: database error: ")]
)
def test_database_error_prefix(tmp_path: Path, lang: str, prefix: str) -> None:
    database = tmp_path / "host.sqlite3"
    database.write_bytes(b"not a database, " * 512)

    result = invoke("keys", "export", "--db", f"sqlite:///{database}", CHAIN[0], lang=lang)

    assert error_line(result, 5) == f"{prefix}file is not a database"


def test_inbox_in_chinese(workspace: Workspace) -> None:
    listed = invoke("inbox", "list", *workspace.inbox(), CHAIN[0], lang="zh")
    opened = invoke("inbox", "open", *workspace.inbox(), CHAIN[0], workspace.zero_report, lang="zh")

    assert listed.exit_code == 0, describe(listed)
    assert "填报人" in listed.stdout
    assert "随时记录" in listed.stdout
    assert "已打开 2 份" in listed.stdout.splitlines()[-1]
    assert opened.stdout.splitlines()[-1] == "零报告"


def test_keys_list_in_chinese(workspace: Workspace) -> None:
    result = invoke(
        "keys", "list", "--db", workspace.db_url, "--anchor", workspace.anchor, CHAIN[0], lang="zh"
    )

    assert result.exit_code == 0, describe(result)
    for heading in ("版本", "算法套件", "有效期至", "状态", "指纹"):
        assert heading in result.stdout
    assert "有效" in result.stdout.splitlines()[-2]


@pytest.mark.parametrize(
    ("option", "example"), [("--lang", "threeregs --lang en demo"), ("-q", "threeregs -q demo")]
)
def test_top_level_option_after_command(option: str, example: str) -> None:
    result = invoke("demo", option, lang=None)

    assert result.exit_code == 2, describe(result)
    assert (
        f"No such option: {option}" in result.stderr
        or f"No such option '{option}'" in result.stderr
    )
    assert f"goes before the command name: {example} ..." in result.stderr


def test_unknown_option_has_no_hint() -> None:
    result = invoke("demo", "--bogus", lang=None)

    assert result.exit_code == 2, describe(result)
    assert "goes before the command name" not in result.stderr
