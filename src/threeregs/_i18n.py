"""Message catalogs and display labels in Simplified Chinese and English.

Everything a prosecutor or inspector reads goes through the gettext catalogs
of the ``threeregs`` domain, compiled to ``.mo`` files under
``threeregs/locale/<locale>/LC_MESSAGES/``. Message ids are the English text.

How the locale is chosen:

* The library API never reads the environment. Every function that returns
  text for people takes a ``locale`` argument, and it defaults to
  :data:`DEFAULT_LOCALE` (``"zh_CN"``) because the people who read the text
  are Chinese prosecutors and inspectors. A host that serves both languages
  passes the locale of each user explicitly.
* The command line resolves the locale with :func:`normalise_locale`: the
  ``--lang`` option, then the ``THREEREGS_LANG`` environment variable, then
  the POSIX variables ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, and finally
  ``zh_CN`` when none of them names a supported language (``C`` and
  ``POSIX`` included).

Messages defined at import time are marked with :func:`N_` so that
``pybabel extract`` finds them, and translated when they are shown.
"""

from __future__ import annotations

import enum
import functools
import gettext as _gettext
import os
import re
import warnings
from importlib import resources
from typing import TYPE_CHECKING, Final

from threeregs._errors import ThreeregsWarning, ValidationError
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind
from threeregs.routing._directory import Level

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "LABELLED_ENUMS",
    "LOCALE_VARIABLE",
    "N_",
    "SUPPORTED_LOCALES",
    "gettext",
    "label",
    "ngettext",
    "normalise_locale",
    "role_label",
    "stage_label",
    "translation",
]

SUPPORTED_LOCALES: Final = ("zh_CN", "en")
DEFAULT_LOCALE: Final = "zh_CN"
#: Environment variable that overrides the POSIX locale variables for threeregs.
LOCALE_VARIABLE: Final = "THREEREGS_LANG"
#: gettext domain, which is also the base name of the catalog files.
DOMAIN: Final = "threeregs"

# POSIX precedence: the first of these that is set and non-empty decides.
_POSIX_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")
# A language subtag followed by region or script subtags, separated by "_" or "-".
_TAG_PATTERN: Final = re.compile(r"([a-z]{2,3})((?:[_-][a-z0-9]+)*)")
# Subtags after "zh" that denote Simplified Chinese: mainland China, Singapore
# or the Hans script. Traditional Chinese (zh_TW, zh_HK, zh_Hant) is not supported.
_SIMPLIFIED_CHINESE_SUBTAGS: Final = frozenset(
    {(), ("cn",), ("sg",), ("hans",), ("hans", "cn"), ("hans", "sg")}
)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark *message* for extraction and return it untranslated."""
    return message


# --- locale names --------------------------------------------------------


def _match_locale(text: str) -> str | None:
    """Return the supported locale that *text* names, or None."""
    # Drop an encoding (".UTF-8") or modifier ("@euro") as found in $LANG.
    tag = text.strip().split(".", 1)[0].split("@", 1)[0].lower()
    match = _TAG_PATTERN.fullmatch(tag)
    if match is None:
        return None

    language = match.group(1)
    subtags = tuple(part for part in re.split(r"[_-]", match.group(2)) if part)
    if language == "en":
        return "en"
    if language == "zh" and subtags in _SIMPLIFIED_CHINESE_SUBTAGS:
        return "zh_CN"
    return None


def _normalise_explicit(value: object, field: str) -> str:
    locale = _match_locale(value) if isinstance(value, str) else None
    if locale is None:
        raise ValidationError(field, value, "expected zh_CN or en")
    return locale


def _locale_from_environment() -> str:
    chosen = os.environ.get(LOCALE_VARIABLE, "").strip()
    if chosen:
        return _normalise_explicit(chosen, LOCALE_VARIABLE)

    for variable in _POSIX_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return _match_locale(value) or DEFAULT_LOCALE
    return DEFAULT_LOCALE


def normalise_locale(value: str | None) -> str:
    """Map a locale name to ``"zh_CN"`` or ``"en"``.

    Spellings are matched case-insensitively, with ``-`` or ``_`` between
    subtags and an optional encoding: ``zh``, ``zh-CN``, ``zh_Hans`` and
    ``zh_CN.UTF-8`` give ``"zh_CN"``, and ``en``, ``en_US`` and ``en-GB``
    give ``"en"``. With None, the locale comes from the environment as the
    module docstring describes.

    Raises:
        ValidationError: *value*, or a non-empty ``THREEREGS_LANG``, names
            another language.
    """
    if value is None:
        return _locale_from_environment()
    return _normalise_explicit(value, "locale")


# --- catalogs ------------------------------------------------------------


@functools.cache
def _load_translation(locale: str) -> _gettext.NullTranslations:
    # Reading through importlib.resources works for an installed wheel and for
    # a package imported from a zip file, where no locale directory exists on
    # disk for gettext.translation() to search.
    catalog = resources.files("threeregs") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with catalog.open("rb") as stream:
            return _gettext.GNUTranslations(stream)
    except FileNotFoundError:
        warnings.warn(
            f"no compiled {locale} catalog at {catalog}, so threeregs messages stay in "
            "English; run `pybabel compile -d src/threeregs/locale -D threeregs` in a "
            "source checkout, or reinstall threeregs",
            ThreeregsWarning,
            stacklevel=3,
        )
        return _gettext.NullTranslations()


def translation(locale: str = DEFAULT_LOCALE) -> _gettext.NullTranslations:
    """Return the translations of the ``threeregs`` domain for *locale*.

    The catalog is loaded once per locale and shared afterwards. A missing
    ``.mo`` file gives a :class:`~threeregs.ThreeregsWarning` and translations
    that return every message in English.
    """
    return _load_translation(normalise_locale(locale))


def gettext(message: str, locale: str = DEFAULT_LOCALE) -> str:
    """Translate *message*, an English message id, into *locale*."""
    return translation(locale).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: str = DEFAULT_LOCALE) -> str:
    """Translate the singular or plural form of a message, chosen by the count *n*."""
    return translation(locale).ngettext(singular, plural, n)


# --- labels --------------------------------------------------------------

#: Message id of the display label of every vocabulary member. Two members of
#: different enums with equal values would collide as keys, so a test checks
#: that the table has one entry per member.
_LABELS: Final[Mapping[enum.Enum, str]] = {
    Provision.P1: N_("Leading cadres interfering in judicial activities"),
    Provision.P2: N_("Judicial insiders asking about cases"),
    Provision.P3: N_(
        "Judicial staff's contacts with parties, lawyers, special-relationship persons "
        "and intermediaries"
    ),
    Conduct.INQUIRY: N_("Asking about a case"),
    Conduct.PLEADING: N_("Pleading for a party"),
    Conduct.ARRANGING_MEETING: N_(
        "Arranging a private meeting with parties, counsel or their relatives"
    ),
    Conduct.PLEADING_THROUGH_OTHERS: N_("Pleading through aides or relatives"),
    Conduct.PRESSING_VIEW: N_("Pressing a view on a case beyond one's authority"),
    Conduct.PASSING_MATERIALS: N_("Passing case materials for a party"),
    Conduct.PROBING_OR_TIPPING_OFF: N_("Probing case details or tipping off a party"),
    Conduct.OTHER_INTERFERENCE: N_("Other interference with fair handling of a case"),
    Conduct.CONTACT: N_(
        "Contact with a party, lawyer, special-relationship person or intermediary"
    ),
    Conduct.LEAKING_SECRETS: N_("Leaking case secrets"),
    Conduct.RECOMMENDING_LAWYER: N_(
        "Recommending lawyers or steering cases to lawyers or intermediaries"
    ),
    Conduct.ACCEPTING_BENEFITS: N_("Accepting banquets, gifts or other benefits"),
    Conduct.BORROWING: N_("Borrowing money, housing, vehicles or devices"),
    Conduct.COLLUSION_IN_COMMISSION: N_("Collusion in commissioned appraisal or auction"),
    Conduct.OTHER_IMPROPER_CONTACT: N_("Other improper contact"),
    Bucket.ROUTINE_INQUIRY: N_("Routine inquiry"),
    Bucket.IMPROPER_INTERFERENCE: N_("Improper inquiry, interference or meddling"),
    Bucket.OFF_HOURS_CONTACT: N_("Contact outside working hours or premises"),
    IntervenerRole.LEADING_CADRE: N_("Leading cadre"),
    IntervenerRole.INTERNAL_PERSONNEL: N_("Internal personnel of a judicial organ"),
    IntervenerRole.PARTY: N_("Party to the case"),
    IntervenerRole.LAWYER: N_("Lawyer"),
    IntervenerRole.SPECIAL_RELATIONSHIP: N_("Special-relationship person"),
    IntervenerRole.INTERMEDIARY: N_("Intermediary organisation"),
    IntervenerRole.ACQUAINTANCE: N_("Acquaintance, relative, classmate or comrade-in-arms"),
    Manner.IN_PERSON: N_("In person"),
    Manner.PHONE: N_("Phone call"),
    Manner.MESSAGE: N_("Text or chat message"),
    Manner.LETTER: N_("Letter or note"),
    Manner.THIRD_PARTY: N_("Through a third party"),
    Manner.ORGANISATION_DOCUMENT: N_("Document sent in an organisation's name"),
    StaffKind.PROSECUTOR: N_("Prosecutor"),
    StaffKind.ASSISTANT: N_("Prosecutor's assistant"),
    StaffKind.CLERK: N_("Clerk"),
    StaffKind.JUDICIAL_POLICE: N_("Judicial police officer"),
    StaffKind.CONTRACT: N_("Contract staff"),
    StaffKind.SECONDED: N_("Seconded staff"),
    StaffKind.TRAINEE: N_("Trainee"),
    StaffKind.TEMPORARY: N_("Temporary staff"),
    Level.SUPREME: N_("Supreme procuratorate"),
    Level.PROVINCIAL: N_("Provincial procuratorate"),
    Level.MUNICIPAL: N_("Municipal procuratorate"),
    Level.BASIC: N_("Basic procuratorate"),
}

#: Enums whose members :func:`label` accepts.
LABELLED_ENUMS: Final[tuple[type[enum.Enum], ...]] = (
    Provision,
    Conduct,
    Bucket,
    IntervenerRole,
    Manner,
    StaffKind,
    Level,
)

#: Message id of the display label of every stage code of the default policy.
_STAGE_LABELS: Final[Mapping[str, str]] = {
    # Criminal prosecution.
    "accept": N_("Acceptance"),
    "arrest_review": N_("Arrest review"),
    "prosecution_review": N_("Prosecution review"),
    "supplementary_investigation": N_("Return for supplementary investigation"),
    "indictment": N_("Indictment"),
    "trial_support": N_("Supporting the prosecution in court"),
    # Civil and administrative supervision.
    "review": N_("Review"),
    "supervision_decision": N_("Supervision decision"),
    # Public-interest litigation.
    "lead_accepted": N_("Lead accepted"),
    "case_opened": N_("Case opened"),
    "investigation": N_("Investigation"),
    "pre_litigation": N_("Pre-litigation procedure"),
    "suit": N_("Filing the suit"),
    "trial": N_("Appearing in court"),
    # Every business line.
    "closed": N_("Closed"),
    "archived": N_("Archived"),
}

#: Message id of the display label of every role code of the default policy.
_ROLE_LABELS: Final[Mapping[str, str]] = {
    "handler": N_("Handling prosecutor"),
    "co_handler": N_("Co-handling prosecutor"),
    "assistant": N_("Prosecutor's assistant"),
    "clerk": N_("Clerk"),
}


def label(value: enum.Enum, locale: str = DEFAULT_LOCALE) -> str:
    """Return the display label of a vocabulary member in *locale*.

    *value* is a member of :class:`~threeregs.Provision`,
    :class:`~threeregs.Conduct`, :class:`~threeregs.Bucket`,
    :class:`~threeregs.IntervenerRole`, :class:`~threeregs.Manner`,
    :class:`~threeregs.StaffKind` or :class:`~threeregs.routing.Level`.

    Raises:
        ValidationError: *value* is not a member of one of those enums, for
            example a plain code string; convert it with ``Conduct(code)``.
    """
    if not isinstance(value, LABELLED_ENUMS):
        names = ", ".join(kind.__name__ for kind in LABELLED_ENUMS)
        raise ValidationError("value", value, f"expected a member of {names}")
    return gettext(_LABELS[value], locale)


def stage_label(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Return the display label of a stage code of the default policy.

    A code that the default policy does not define, such as a stage of a
    host's own policy, is returned unchanged.
    """
    msgid = _STAGE_LABELS.get(code)
    if msgid is None:
        return code
    return gettext(msgid, locale)


def role_label(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Return the display label of a role code of the default policy.

    A code that the default policy does not define is returned unchanged.
    """
    msgid = _ROLE_LABELS.get(code)
    if msgid is None:
        return code
    return gettext(msgid, locale)
