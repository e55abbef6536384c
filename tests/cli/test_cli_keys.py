"""``threeregs db init`` and ``threeregs keys``: set-up, issue, list, export, rotation."""

from __future__ import annotations

import datetime as dt
import stat
from typing import TYPE_CHECKING

from cli_support import (
    CHAIN,
    CHAIN_NAMES,
    PASSPHRASE,
    anchor_from,
    describe,
    error_line,
    invoke,
)

from threeregs.crypto import AnchorSigner, CertifiedKey, TrustAnchor

if TYPE_CHECKING:
    from pathlib import Path

    from cli_support import Workspace


def _table_rows(output: str) -> list[list[str]]:
    """Return the cells of each body row of a table that rich drew."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


# --- db init -------------------------------------------------------------


def test_db_init_stores_national_directory(tmp_path: Path) -> None:
    database = tmp_path / "host.sqlite3"

    result = invoke("db", "init", "--db", f"sqlite:///{database}")

    assert result.exit_code == 0, describe(result)
    assert result.stdout == "stored 3216 offices\n"
    assert database.is_file()


def test_db_init_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"

    first = invoke("db", "init", "--db", url)
    second = invoke("db", "init", "--db", url)

    assert first.exit_code == 0, describe(first)
    assert second.exit_code == 0, describe(second)
    assert second.stdout == first.stdout


def test_db_init_with_own_directory(tmp_path: Path) -> None:
    offices = tmp_path / "offices.csv"
    offices.write_text(
        "code,name,level,parent_code\n"
        "000000,最高人民检察院,supreme,\n"
        "330000,浙江省人民检察院,provincial,000000\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    keystore = tmp_path / "keys.trks"

    stored = invoke("db", "init", "--db", url, "--directory", str(offices))
    invoke("keys", "init", "--keystore", str(keystore), "--with-anchor")
    outside = invoke("keys", "issue", "--db", url, "--keystore", str(keystore), "330106")

    assert stored.exit_code == 0, describe(stored)
    assert stored.stdout == "stored 2 offices\n"
    assert "no office with code '330106'" in error_line(outside, 3)


# --- keys init and anchor ------------------------------------------------


def test_keys_init_prints_anchor(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"

    created = invoke("keys", "init", "--keystore", str(keystore), "--with-anchor")
    printed = invoke("keys", "anchor", "--keystore", str(keystore))

    assert created.exit_code == 0, describe(created)
    assert f"created key store {keystore}" in created.stdout
    assert "trust anchor (put it in host configuration):" in created.stdout
    assert printed.exit_code == 0, describe(printed)
    assert printed.stdout.strip() == anchor_from(created.stdout)


def test_keys_init_file_private(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"

    result = invoke("keys", "init", "--keystore", str(keystore))

    assert result.exit_code == 0, describe(result)
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


def test_keys_init_without_anchor(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"

    created = invoke("keys", "init", "--keystore", str(keystore))
    printed = invoke("keys", "anchor", "--keystore", str(keystore))

    assert created.exit_code == 0, describe(created)
    assert "trust anchor" not in created.stdout
    assert "holds no trust anchor" in error_line(printed, 4)


def test_passphrase_prompted_when_not_given(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"
    no_passphrase: dict[str, str | None] = {"THREEREGS_PASSPHRASE": None}

    created = invoke(
        "keys",
        "init",
        "--keystore",
        str(keystore),
        "--with-anchor",
        env=no_passphrase,
        input="typed secret\ntyped secret\n",
    )
    right = invoke(
        "keys", "anchor", "--keystore", str(keystore), env=no_passphrase, input="typed secret\n"
    )
    from_option = invoke(
        "keys", "anchor", "--keystore", str(keystore), "--passphrase", "typed secret"
    )
    wrong = invoke(
        "keys", "anchor", "--keystore", str(keystore), env=no_passphrase, input="guess\n"
    )

    assert created.exit_code == 0, describe(created)
    assert "typed secret" not in created.stdout
    assert right.exit_code == 0, describe(right)
    assert right.stdout.splitlines()[-1] == anchor_from(created.stdout)
    assert from_option.stdout.strip() == anchor_from(created.stdout)
    assert wrong.exit_code == 4, describe(wrong)
    assert "wrong passphrase" in wrong.stderr


# --- keys issue, list, export --------------------------------------------


def test_keys_issue_for_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    keystore = tmp_path / "keys.trks"
    invoke("db", "init", "--db", url)
    invoke("keys", "init", "--keystore", str(keystore), "--with-anchor")

    result = invoke("keys", "issue", "--db", url, "--keystore", str(keystore), *CHAIN)

    assert result.exit_code == 0, describe(result)
    assert result.stdout.splitlines() == [
        f"issued key version 1 for {name}" for name in CHAIN_NAMES
    ]


def test_keys_list_shows_active(workspace: Workspace) -> None:
    for office in CHAIN:
        result = invoke(
            "keys", "list", "--db", workspace.db_url, "--anchor", workspace.anchor, office
        )

        assert result.exit_code == 0, describe(result)
        [row] = _table_rows(result.stdout)
        version, suite, valid_until, status, _fingerprint = row
        assert (version, suite, status) == ("1", "X25519", "active")
        assert dt.date.fromisoformat(valid_until) > dt.datetime.now(dt.UTC).date()


def test_keys_list_with_other_anchor(workspace: Workspace) -> None:
    other = AnchorSigner.generate().anchor.public_bytes().hex()

    result = invoke("keys", "list", "--db", workspace.db_url, "--anchor", other, CHAIN[0])

    assert result.exit_code == 0, describe(result)
    assert [row[3] for row in _table_rows(result.stdout)] == ["NOT CERTIFIED"]


def test_keys_export_is_certified_record(workspace: Workspace) -> None:
    exported = invoke("keys", "export", "--db", workspace.db_url, CHAIN[0])
    listed = invoke(
        "keys", "list", "--db", workspace.db_url, "--anchor", workspace.anchor, CHAIN[0]
    )

    assert exported.exit_code == 0, describe(exported)
    certified = CertifiedKey.from_bytes(bytes.fromhex(exported.stdout.strip()))
    record = TrustAnchor.from_hex(workspace.anchor).verify(
        certified, office_code=CHAIN[0], at=dt.datetime.now(dt.UTC)
    )
    assert record.key_version == 1
    assert _table_rows(listed.stdout)[0][4] == record.fingerprint


def test_keys_export_by_version(workspace: Workspace) -> None:
    newest = invoke("keys", "export", "--db", workspace.db_url, CHAIN[1])
    first = invoke("keys", "export", "--db", workspace.db_url, "--version", "1", CHAIN[1])
    absent = invoke("keys", "export", "--db", workspace.db_url, "--version", "9", CHAIN[1])

    assert first.exit_code == 0, describe(first)
    assert first.stdout == newest.stdout
    assert "office '330100' has no key version 9" in error_line(absent, 4)


def test_keys_issue_with_anchor_store(own_workspace: Workspace, tmp_path: Path) -> None:
    # An office's key store need not contain the trust anchor. The command
    # then prompts for the passphrase of the store that contains it.
    office_store = tmp_path / "office.trks"
    invoke("keys", "init", "--keystore", str(office_store))

    result = invoke(
        "keys",
        "issue",
        "--db",
        own_workspace.db_url,
        "--keystore",
        str(office_store),
        "--anchor-store",
        str(own_workspace.keystore),
        "330108",
        input=f"{PASSPHRASE}\n",
    )
    listed = invoke(
        "keys", "list", "--db", own_workspace.db_url, "--anchor", own_workspace.anchor, "330108"
    )

    assert result.exit_code == 0, describe(result)
    assert "issued key version 1 for 杭州市滨江区人民检察院" in result.stdout
    assert [row[3] for row in _table_rows(listed.stdout)] == ["active"]


def test_keys_issue_without_anchor(own_workspace: Workspace, tmp_path: Path) -> None:
    office_store = tmp_path / "office.trks"
    invoke("keys", "init", "--keystore", str(office_store))

    result = invoke(
        "keys", "issue", "--db", own_workspace.db_url, "--keystore", str(office_store), "330108"
    )

    assert "no trust anchor available" in error_line(result, 4)


# --- rotation: issue, rewrap, retire -------------------------------------


def test_rotation_rewrap_then_retire(own_workspace: Workspace) -> None:
    db = ("--db", own_workspace.db_url)
    office = CHAIN[0]

    issued = invoke("keys", "issue", *own_workspace.keys(), office)
    early = invoke("keys", "retire", *db, office, "1")
    rewrapped = invoke(
        "keys", "rewrap", *own_workspace.keys(), "--anchor", own_workspace.anchor, office
    )
    repeated = invoke(
        "keys", "rewrap", *own_workspace.keys(), "--anchor", own_workspace.anchor, office
    )
    retired = invoke("keys", "retire", *db, office, "1")
    again = invoke("keys", "retire", *db, office, "1")
    listed = invoke("keys", "list", *db, "--anchor", own_workspace.anchor, office)
    opened = invoke("inbox", "list", *own_workspace.inbox(), office)

    assert issued.stdout == "issued key version 2 for 杭州市西湖区人民检察院\n"
    assert error_line(early, 4) == (
        "error: key version 1 of office '330106' still protects stored filings; "
        "run the rewrap job to the newer version first"
    )
    assert rewrapped.exit_code == 0, describe(rewrapped)
    assert rewrapped.stdout == "rewrapped 2 slots of 330106 to key version 2\n"
    assert repeated.stdout == "rewrapped 0 slots of 330106 to key version 2\n"
    assert retired.exit_code == 0, describe(retired)
    assert retired.stdout == "retired key version 1 of 330106\n"
    assert "no active key version 1" in error_line(again, 4)
    assert [(row[0], row[3]) for row in _table_rows(listed.stdout)] == [
        ("1", "retired"),
        ("2", "active"),
    ]
    assert opened.exit_code == 0, describe(opened)
    assert "2 opened, 0 decoys skipped, 0 failed, 0 lack a key" in opened.stdout


def test_rewrap_without_newer_key(own_workspace: Workspace) -> None:
    first = invoke(
        "keys", "rewrap", *own_workspace.keys(), "--anchor", own_workspace.anchor, "330106"
    )
    retire = invoke("keys", "retire", "--db", own_workspace.db_url, "330106", "1")

    assert first.exit_code == 0, describe(first)
    assert first.stdout == "rewrapped 0 slots of 330106 to key version 1\n"
    assert "still protects stored filings" in error_line(retire, 4)


def test_rewrap_with_other_anchor(own_workspace: Workspace) -> None:
    other = AnchorSigner.generate().anchor.public_bytes().hex()
    invoke("keys", "issue", *own_workspace.keys(), "330106")

    result = invoke("keys", "rewrap", *own_workspace.keys(), "--anchor", other, "330106")

    assert "not certified by the configured trust anchor" in error_line(result, 4)


# --- options from the environment ----------------------------------------


def test_options_from_environment(workspace: Workspace) -> None:
    env = {
        "THREEREGS_DATABASE_URL": workspace.db_url,
        "THREEREGS_KEYSTORE": str(workspace.keystore),
        "THREEREGS_TRUST_ANCHOR": workspace.anchor,
    }

    listed = invoke("keys", "list", CHAIN[0], env=env)
    anchor = invoke("keys", "anchor", env=env)
    inbox = invoke("inbox", "list", "--reader", "inspector-7", CHAIN[0], env=env)

    assert listed.exit_code == 0, describe(listed)
    assert [row[3] for row in _table_rows(listed.stdout)] == ["active"]
    assert anchor.stdout.strip() == workspace.anchor
    assert inbox.exit_code == 0, describe(inbox)
    assert "2 opened" in inbox.stdout


def test_option_beats_environment(workspace: Workspace, tmp_path: Path) -> None:
    env = {"THREEREGS_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"}

    result = invoke("keys", "export", "--db", workspace.db_url, CHAIN[0], env=env)

    assert result.exit_code == 0, describe(result)
