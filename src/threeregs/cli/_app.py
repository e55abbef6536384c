"""The click group, shared options, output and error handling of the CLI."""

from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from threeregs import _i18n
from threeregs._errors import (
    CorruptKeyStoreError,
    KeyStoreError,
    ThreeregsError,
    UntrustedKeyError,
    ValidationError,
    WrongPassphraseError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK: Final = 0
EXIT_PROBLEM: Final = 1
EXIT_USAGE: Final = 2
EXIT_INPUT: Final = 3
EXIT_KEYS: Final = 4
EXIT_DATABASE: Final = 5

F = TypeVar("F", bound="Callable[..., Any]")


class Context:
    """Per-invocation settings: locale and consoles."""

    def __init__(self, locale: str, *, quiet: bool) -> None:
        self.locale = locale
        self.quiet = quiet
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def _(self, message: str) -> str:
        """Translate *message* into the chosen locale."""
        return _i18n.gettext(message, self.locale)


#: Options of the top-level command, which people often put after the command.
_TOP_LEVEL_OPTIONS: Final = frozenset({"--lang", "--quiet", "-q", "--verbose", "-v"})


class _Group(click.Group):
    """The top-level group, which points out a top-level option given after the command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            if exc.option_name not in _TOP_LEVEL_OPTIONS:
                raise
            example = f"threeregs {exc.option_name}"
            if exc.option_name == "--lang":
                example += " en"
            raise click.UsageError(
                f"{exc.format_message()} It belongs to the top-level command and goes before "
                f"the command name: {example} {ctx.invoked_subcommand} ...",
                ctx=exc.ctx,
            ) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the output; defaults to THREEREGS_LANG, then the locale, then zh.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only results, no progress.")
@click.option("--verbose", "-v", count=True, help="Log library activity to stderr (-vv: debug).")
@click.version_option(package_name="threeregs")
@click.pass_context
def main(ctx: click.Context, lang: str | None, quiet: bool, verbose: int) -> None:
    """threeregs: Three Provisions reporting, stage gates and inspection tools."""
    try:
        locale = _i18n.normalise_locale(lang)
    except ValidationError as exc:
        _fail_text(f"{exc}; set it to zh_CN or en, or unset it", EXIT_USAGE)
    ctx.obj = Context(locale, quiet=quiet)
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    else:
        # Without -v the commands report problems themselves, in the chosen
        # language; keep Python's last-resort handler from repeating library
        # warnings in English on stderr.
        logging.getLogger("threeregs").addHandler(logging.NullHandler())


def handle_errors(func: F) -> F:
    """Turn library errors into one clear line on stderr and a documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (
            WrongPassphraseError,
            CorruptKeyStoreError,
            KeyStoreError,
            UntrustedKeyError,
        ) as exc:
            _fail(exc, EXIT_KEYS)
        except ThreeregsError as exc:
            _fail(exc, EXIT_INPUT)
        except OSError as exc:
            _fail_text(f"{exc.filename}: {exc.strerror}", EXIT_INPUT)
        except ModuleNotFoundError as exc:
            # A database URL whose driver is not installed, such as psycopg.
            _fail_text(
                _i18n.gettext(
                    "the database driver {module} is not installed; install "
                    "threeregs with the postgresql or mysql extra",
                    _locale(),
                ).format(module=exc.name),
                EXIT_INPUT,
            )
        except SQLAlchemyError as exc:
            error = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            text = _i18n.gettext("database error: {error}", _locale()).format(error=error)
            if "no such table" in error or "does not exist" in error or "doesn't exist" in error:
                text += _i18n.gettext("; create the tables with `threeregs db init`", _locale())
            _fail_text(text, EXIT_DATABASE)
        return None

    return wrapper  # type: ignore[return-value]


def _locale() -> str:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Context) if ctx else None
    return obj.locale if obj else _i18n.DEFAULT_LOCALE


def _fail(exc: ThreeregsError, code: int) -> None:
    _fail_text(str(exc), code)


def _fail_text(text: str, code: int) -> None:
    prefix = _i18n.gettext("error", _locale())
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]{prefix}:[/] {text}", markup=True, highlight=False
    )
    sys.exit(code)


def obj() -> Context:
    """Return the CLI context of the running command."""
    return click.get_current_context().find_object(Context)  # type: ignore[return-value]
