"""Development sessions for threeregs: tests, type checks, lint, docs and catalogs.

Run ``nox --list`` to see them. The database under test comes from
``THREEREGS_TEST_DATABASE_URL`` (a SQLAlchemy URL). When it is unset, the test
suite uses an SQLite file in a temporary directory.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import nox

nox.needs_version = ">=2024.3"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "no"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typing", "tests", "docs"]

ROOT = Path(__file__).parent
LOCALE_DIR = "src/threeregs/locale"
DATABASE_URL_VARIABLE = "THREEREGS_TEST_DATABASE_URL"
POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"

# Optional-dependency extra that provides the driver for each SQLAlchemy dialect.
# SQLite needs none because the driver ships with Python.
DIALECT_EXTRAS = {
    "sqlite": None,
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}


def _optional_requirement(extra: str, name: str) -> str:
    """Look up the requirement for ``name`` in one extra of pyproject.toml.

    Sessions that need a single tool install it with the version range the
    project declares, so the range is written down in one place only.
    """
    with (ROOT / "pyproject.toml").open("rb") as file:
        extras: dict[str, list[str]] = tomllib.load(file)["project"]["optional-dependencies"]
    for requirement in extras[extra]:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        if match and _normalise(match.group()) == _normalise(name):
            return requirement
    msg = f"{name!r} is missing from the {extra!r} extra in pyproject.toml; add it there."
    raise LookupError(msg)


def _normalise(project_name: str) -> str:
    """Normalise a project name as PEP 503 does, so ``PyMySQL`` matches ``pymysql``."""
    return re.sub(r"[-_.]+", "-", project_name).lower()


def _extras_for_url(url: str | None) -> list[str]:
    """Return the extras to install, with the database driver that ``url`` needs."""
    extras = ["test"]
    if not url:
        return extras

    dialect = url.split(":", 1)[0].split("+", 1)[0].lower()
    if dialect not in DIALECT_EXTRAS:
        known = ", ".join(sorted(DIALECT_EXTRAS))
        msg = (
            f"{DATABASE_URL_VARIABLE} uses the unsupported dialect {dialect!r} in {url!r};"
            f" use one of: {known}."
        )
        raise ValueError(msg)
    driver_extra = DIALECT_EXTRAS[dialect]
    if driver_extra is not None:
        extras.append(driver_extra)
    return extras


def _compile_catalogs(session: nox.Session) -> None:
    """Compile the gettext catalogs, or skip when there are no .po files yet."""
    if not any((ROOT / LOCALE_DIR).glob("*/LC_MESSAGES/threeregs.po")):
        session.log(f"No threeregs.po catalogs under {LOCALE_DIR}; nothing to compile.")
        return
    session.run("pybabel", "compile", "-d", LOCALE_DIR, "-D", "threeregs")


def _run_tests(session: nox.Session, url: str | None) -> None:
    """Install the project with the extras ``url`` needs and run pytest on it."""
    extras = ",".join(_extras_for_url(url))
    # An editable install, so that the compiled catalogs written into src/ are the
    # ones the tests load.
    session.install("-e", f".[{extras}]")
    _compile_catalogs(session)

    env = {DATABASE_URL_VARIABLE: url} if url else {}
    session.run("python", "-m", "pytest", *session.posargs, env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on the database named by THREEREGS_TEST_DATABASE_URL."""
    _run_tests(session, os.environ.get(DATABASE_URL_VARIABLE))


@nox.session
def tests_postgresql(session: nox.Session) -> None:
    """Run the test suite on the local PostgreSQL server unless a URL is set."""
    _run_tests(session, os.environ.get(DATABASE_URL_VARIABLE) or POSTGRESQL_URL)


@nox.session
def tests_mariadb(session: nox.Session) -> None:
    """Run the test suite on the local MariaDB server unless a URL is set."""
    _run_tests(session, os.environ.get(DATABASE_URL_VARIABLE) or MARIADB_URL)


@nox.session
def typing(session: nox.Session) -> None:
    """Check the package with mypy in strict mode, configured in pyproject.toml."""
    # The dev extra contains mypy and both database drivers, so modules that import a
    # driver are checked against its type hints.
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint rules and formatting with ruff, without changing files."""
    session.install(_optional_requirement("dev", "ruff"))
    session.run("ruff", "check")
    session.run("ruff", "format", "--check")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation, treating every Sphinx warning as an error."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def catalogs(session: nox.Session) -> None:
    """Compile the gettext .po catalogs under src/threeregs/locale to .mo files."""
    session.install(_optional_requirement("test", "babel"))
    _compile_catalogs(session)
