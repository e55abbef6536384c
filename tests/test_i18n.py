"""Tests for the message catalogs, locale names and display labels."""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import re
import string
import subprocess
import sys
import tomllib
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

import threeregs
from threeregs import _i18n
from threeregs._errors import ValidationError
from threeregs._i18n import (
    LABELLED_ENUMS,
    LOCALE_VARIABLE,
    SUPPORTED_LOCALES,
    gettext,
    label,
    ngettext,
    normalise_locale,
    role_label,
    stage_label,
    translation,
)
from threeregs._vocabulary import Conduct, Provision

try:
    from babel.messages.frontend import parse_mapping_cfg
except ImportError:  # Babel before 2.15
    from babel.messages.frontend import parse_mapping as parse_mapping_cfg

PACKAGE_DIR = Path(threeregs.__file__).parent
LOCALE_DIR = PACKAGE_DIR / "locale"
TEMPLATE = LOCALE_DIR / "threeregs.pot"
REPOSITORY = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")

ALL_MEMBERS = [member for kind in LABELLED_ENUMS for member in kind]
DEFAULT_POLICY = tomllib.loads(
    (resources.files("threeregs") / "policy" / "default.toml").read_text(encoding="utf-8")
)
DEFAULT_STAGES = sorted(
    {stage for line in DEFAULT_POLICY["lines"].values() for stage in line["stages"]}
)
DEFAULT_ROLES = sorted(DEFAULT_POLICY["roles"]["known"])


def _read_po(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "threeregs.po").open("rb") as stream:
        return read_po(stream)


def _messages(catalog: Catalog) -> dict[object, object]:
    """Map each message id of *catalog* to its translation, without the header."""
    return {message.id: message.string for message in catalog if message.id}


def _is_translated(message: Message) -> bool:
    if isinstance(message.string, tuple):
        return all(message.string)
    return bool(message.string)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- labels --------------------------------------------------------------


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_label_in_both_locales(member):
    english = label(member, "en")
    chinese = label(member, "zh_CN")

    assert english == _i18n._LABELS[member]
    assert chinese != english
    assert CJK.search(chinese), chinese


def test_label_table_has_one_entry_per_member():
    assert len(_i18n._LABELS) == len(ALL_MEMBERS)
    assert set(_i18n._LABELS) == set(ALL_MEMBERS)


@pytest.mark.parametrize("kind", LABELLED_ENUMS, ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_labels_distinct_within_enum(kind, locale):
    labels = [label(member, locale) for member in kind]

    assert len(set(labels)) == len(labels), labels


def test_label_defaults_to_chinese():
    assert label(Conduct.PLEADING) == "请托说情"
    assert label(Conduct.PROBING_OR_TIPPING_OFF) == "打探案情、通风报信"


def test_label_accepts_locale_spellings():
    assert label(Provision.P2, "zh-cn") == label(Provision.P2, "zh_CN")
    assert label(Provision.P2, "en_GB") == "Judicial insiders asking about cases"


@pytest.mark.parametrize("value", ["pleading", 1, None, ValueError])
def test_label_rejects_non_member(value):
    with pytest.raises(ValidationError) as caught:
        label(value)

    assert caught.value.field == "value"


@pytest.mark.parametrize("code", DEFAULT_STAGES)
def test_stage_label_for_default_stages(code):
    chinese = stage_label(code, "zh_CN")
    english = stage_label(code, "en")

    assert english != code
    assert CJK.search(chinese), chinese


@pytest.mark.parametrize("code", DEFAULT_ROLES)
def test_role_label_for_default_roles(code):
    chinese = role_label(code, "zh_CN")
    english = role_label(code, "en")

    assert english != code
    assert CJK.search(chinese), chinese


def test_stage_label_examples():
    assert stage_label("prosecution_review") == "审查起诉"
    assert stage_label("supplementary_investigation", "zh_CN") == "退回补充侦查"
    assert stage_label("pre_litigation", "en") == "Pre-litigation procedure"


@pytest.mark.parametrize("function", [stage_label, role_label])
def test_unknown_code_returned_unchanged(function):
    assert function("host_specific_stage", "zh_CN") == "host_specific_stage"
    assert function("host_specific_stage", "en") == "host_specific_stage"


# --- locale names --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zh", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("ZH_cn", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("zh_CN.GB18030", "zh_CN"),
        (" zh_CN ", "zh_CN"),
        ("en", "en"),
        ("en_US", "en"),
        ("en-GB", "en"),
        ("EN_us.utf8", "en"),
        ("en_IE@euro", "en"),
    ],
)
def test_normalise_locale_accepts(value, expected):
    assert normalise_locale(value) == expected


@pytest.mark.parametrize(
    "value", ["", "fr", "fr_FR", "zh_TW", "zh-Hant", "zh_HK", "C", "POSIX", "english", "zh__"]
)
def test_normalise_locale_rejects(value):
    with pytest.raises(ValidationError) as caught:
        normalise_locale(value)

    assert caught.value.field == "locale"
    assert caught.value.value == value
    assert "expected zh_CN or en" in str(caught.value)


@given(
    st.sampled_from(["zh", "zh_cn", "zh-cn", "zh_hans", "en", "en_us", "en-gb"]),
    st.data(),
)
def test_normalise_locale_ignores_case(spelling, data):
    mask = data.draw(st.lists(st.booleans(), min_size=len(spelling), max_size=len(spelling)))
    mixed = "".join(c.upper() if upper else c for c, upper in zip(spelling, mask, strict=True))

    result = normalise_locale(mixed)

    assert result == normalise_locale(spelling)
    assert normalise_locale(result) == result
    assert result in SUPPORTED_LOCALES


@pytest.fixture
def clean_environment(monkeypatch):
    for variable in (LOCALE_VARIABLE, "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_environment_unset_gives_default(clean_environment):
    assert normalise_locale(None) == "zh_CN"


def test_environment_threeregs_lang_first(clean_environment):
    clean_environment.setenv("LC_ALL", "zh_CN.UTF-8")
    clean_environment.setenv(LOCALE_VARIABLE, "en")

    assert normalise_locale(None) == "en"


def test_environment_empty_threeregs_lang_ignored(clean_environment):
    clean_environment.setenv(LOCALE_VARIABLE, "")
    clean_environment.setenv("LANG", "en_US.UTF-8")

    assert normalise_locale(None) == "en"


def test_environment_invalid_threeregs_lang(clean_environment):
    clean_environment.setenv(LOCALE_VARIABLE, "fr_FR")

    with pytest.raises(ValidationError) as caught:
        normalise_locale(None)

    assert caught.value.field == LOCALE_VARIABLE


def test_environment_posix_precedence(clean_environment):
    clean_environment.setenv("LANG", "zh_CN.UTF-8")
    clean_environment.setenv("LC_MESSAGES", "en_GB.UTF-8")
    assert normalise_locale(None) == "en"

    clean_environment.setenv("LC_ALL", "zh_CN.UTF-8")
    assert normalise_locale(None) == "zh_CN"


@pytest.mark.parametrize("value", ["C", "C.UTF-8", "POSIX", "fr_FR.UTF-8", "zh_TW.UTF-8"])
def test_environment_unsupported_posix_locale(clean_environment, value):
    clean_environment.setenv("LANG", "en_US.UTF-8")
    clean_environment.setenv("LC_ALL", value)

    assert normalise_locale(None) == "zh_CN"


def test_explicit_locale_ignores_environment(clean_environment):
    clean_environment.setenv(LOCALE_VARIABLE, "en")

    assert label(Conduct.PLEADING) == "请托说情"


# --- gettext functions ---------------------------------------------------


def test_translation_cached_per_locale():
    assert translation("zh-CN") is translation("zh_CN")
    assert translation("en_US") is translation("en")
    assert translation("en") is not translation("zh_CN")


def test_translation_loads_compiled_catalog():
    assert isinstance(translation("zh_CN"), stdlib_gettext.GNUTranslations)
    assert isinstance(translation("en"), stdlib_gettext.GNUTranslations)


def test_gettext_unknown_message_unchanged():
    assert gettext("no such message", "zh_CN") == "no such message"


def test_gettext_rejects_unknown_locale():
    with pytest.raises(ValidationError):
        gettext("Lawyer", "de")


def test_ngettext_chooses_form_by_count():
    assert ngettext("one filing", "{n} filings", 1, "en") == "one filing"
    assert ngettext("one filing", "{n} filings", 2, "en") == "{n} filings"


def test_marker_returns_message():
    assert _i18n.N_("Lawyer") == "Lawyer"


# --- catalogs ------------------------------------------------------------


def test_template_matches_source():
    with (REPOSITORY / "babel.cfg").open(encoding="utf-8") as stream:
        method_map, options_map = parse_mapping_cfg(stream)
    extracted = {
        message for _, _, message, _, _ in extract_from_dir(PACKAGE_DIR, method_map, options_map)
    }
    with TEMPLATE.open("rb") as stream:
        template = set(_messages(read_po(stream)))

    assert extracted - template == set(), "run pybabel extract"
    assert template - extracted == set(), "run pybabel extract"


def test_template_contains_every_label():
    with TEMPLATE.open("rb") as stream:
        template = set(_messages(read_po(stream)))
    used = {*_i18n._LABELS.values(), *_i18n._STAGE_LABELS.values(), *_i18n._ROLE_LABELS.values()}

    assert used - template == set()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_every_template_message(locale):
    with TEMPLATE.open("rb") as stream:
        template = set(_messages(read_po(stream)))
    catalog = set(_messages(_read_po(locale)))

    assert template - catalog == set(), "run pybabel update"
    assert catalog - template == set(), "run pybabel update"


def test_chinese_catalog_complete():
    catalog = _read_po("zh_CN")

    untranslated = [m.id for m in catalog if m.id and not _is_translated(m)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]

    assert untranslated == []
    assert fuzzy == []


def test_english_catalog_is_identity():
    catalog = _read_po("en")

    differing = [m.id for m in catalog if m.id and m.string != m.id]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]

    assert differing == []
    assert fuzzy == []


def test_chinese_placeholders_match():
    catalog = _read_po("zh_CN")

    for message in catalog:
        if not message.id or "python-brace-format" not in message.flags:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for translated in strings:
            assert _fields(translated) == _fields(ids[0]), message.id


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_up_to_date(locale):
    buffer = io.BytesIO()
    write_mo(buffer, _read_po(locale))
    buffer.seek(0)
    expected = _messages(read_mo(buffer))
    compiled = LOCALE_DIR / locale / "LC_MESSAGES" / "threeregs.mo"
    with compiled.open("rb") as stream:
        shipped = _messages(read_mo(stream))
    with compiled.open("rb") as stream:
        loaded = stdlib_gettext.GNUTranslations(stream)

    assert shipped == expected, "run pybabel compile -d src/threeregs/locale -D threeregs"
    for msgid, msgstr in expected.items():
        if isinstance(msgid, str):
            assert loaded.gettext(msgid) == msgstr


def _zip_package(archive: Path, *, leave_out: str = "") -> None:
    """Write the package to *archive*, without files whose path ends with *leave_out*."""
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in PACKAGE_DIR.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if leave_out and path.as_posix().endswith(leave_out):
                continue
            bundle.write(path, Path("threeregs") / path.relative_to(PACKAGE_DIR))


def _run_from_zip(archive: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run *script* in a fresh interpreter that imports threeregs from *archive* only."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", script, str(archive)],
        env={"PYTHONPATH": str(archive), "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


def test_catalogs_load_from_zip_import(tmp_path):
    archive = tmp_path / "threeregs.zip"
    _zip_package(archive)
    script = (
        "import sys\n"
        "import threeregs\n"
        "from threeregs._i18n import label\n"
        "from threeregs._vocabulary import Conduct\n"
        "assert threeregs.__file__.startswith(sys.argv[1]), threeregs.__file__\n"
        "print(label(Conduct.PLEADING, 'zh_CN'))\n"
    )

    result = _run_from_zip(archive, script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "请托说情"


def test_missing_catalog_warns_and_falls_back(tmp_path):
    archive = tmp_path / "threeregs.zip"
    _zip_package(archive, leave_out="zh_CN/LC_MESSAGES/threeregs.mo")
    script = (
        "import warnings\n"
        "from threeregs._errors import ThreeregsWarning\n"
        "from threeregs._i18n import label\n"
        "from threeregs._vocabulary import Conduct\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    text = label(Conduct.PLEADING, 'zh_CN')\n"
        "assert [w.category for w in caught] == [ThreeregsWarning], caught\n"
        "print(text)\n"
        "print(label(Conduct.PLEADING, 'en'))\n"
    )

    result = _run_from_zip(archive, script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Pleading for a party", "Pleading for a party"]
