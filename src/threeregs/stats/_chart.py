"""A PNG chart of the quarterly trend of records by level.

The chart is drawn with matplotlib's Agg backend on a bare ``Figure``, so it
needs no display and leaves pyplot's global state alone. Chinese labels need
a font with CJK glyphs. The optional ``mplfonts`` package (the ``cjk`` extra) ships Noto
Sans CJK SC (SIL Open Font License), and fonts installed on the system are
tried next. When no CJK font is found the chart falls back to English labels
and says so in :attr:`ChartResult.fell_back`.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from threeregs import _i18n
from threeregs._errors import ValidationError
from threeregs.stats._output import key_label, measure_name
from threeregs.stats._periods import Period
from threeregs.stats._query import Dimension

if TYPE_CHECKING:
    import os

    from threeregs.stats._query import StatTable

__all__ = ["ChartResult", "find_cjk_font", "quarterly_trend_chart"]

logger = logging.getLogger(__name__)

#: The font file of the ``mplfonts`` package that the chart uses; the package
#: ships other fonts too, which are never loaded.
MPLFONTS_FILE: Final = "NotoSansCJKsc-Regular.otf"
#: Families of common system fonts that cover Simplified Chinese.
SYSTEM_CJK_FAMILIES: Final = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "AR PL UMing CN",
)
_PNG_DPI: Final = 120


@attrs.frozen
class ChartResult:
    """What :func:`quarterly_trend_chart` drew."""

    path: Path
    #: Locale of the labels actually drawn.
    locale: str
    #: The font file used for CJK labels, if any.
    font: Path | None
    #: Whether Chinese was asked for but English was drawn for lack of a CJK font.
    fell_back: bool


def find_cjk_font() -> Path | None:
    """Return a font file with Simplified Chinese glyphs that matplotlib can use, or None."""
    spec = importlib.util.find_spec("mplfonts")
    # find_spec locates the package without importing it, which would import pyplot.
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "fonts" / MPLFONTS_FILE
            if candidate.is_file():
                return candidate

    from matplotlib import font_manager  # noqa: PLC0415 - matplotlib loads slowly

    by_family = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    for family in SYSTEM_CJK_FAMILIES:
        if family in by_family:
            return Path(by_family[family])
    return None


def quarterly_trend_chart(
    table: StatTable,
    path: str | os.PathLike[str],
    *,
    locale: str = _i18n.DEFAULT_LOCALE,
    font: Path | None = None,
) -> ChartResult:
    """Draw *table*, a table of records by level per quarter, as a line chart in PNG.

    The vertical axis is logarithmic, because basic offices file about a
    hundred times as many records as the supreme office. *font* overrides
    the CJK font search.
    """
    if table.dimension is not Dimension.LEVEL or table.period is not Period.QUARTER:
        raise ValidationError(
            "table",
            f"{table.dimension.value} per {table.period.value}",
            "the trend chart needs a table by level per quarter",
        )
    chosen = _i18n.normalise_locale(locale)
    font_file = font
    if chosen == "zh_CN" and font_file is None:
        font_file = find_cjk_font()
    fell_back = chosen == "zh_CN" and font_file is None
    if fell_back:
        logger.warning("no CJK font found, so the chart has English labels")
        chosen = "en"

    import matplotlib as mpl  # noqa: PLC0415 - matplotlib loads slowly
    from matplotlib import font_manager  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    family = None
    if chosen == "zh_CN" and font_file is not None:
        font_manager.fontManager.addfont(str(font_file))
        family = font_manager.FontProperties(fname=str(font_file)).get_name()

    _ = _i18n.gettext
    periods = table.periods()
    target = Path(path)
    with mpl.rc_context():
        # CJK fonts often lack the Unicode minus sign.
        mpl.rcParams["axes.unicode_minus"] = False
        if family is not None:
            mpl.rcParams["font.family"] = [family, "DejaVu Sans"]
        figure = Figure(figsize=(9, 5), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for key in table.row_keys():
            values = [table.count(period, key) for period in periods]
            # Zero cannot be drawn on a logarithmic axis; matplotlib leaves a gap.
            axes.plot(
                periods,
                [value if value > 0 else float("nan") for value in values],
                marker="o",
                label=key_label(Dimension.LEVEL, key, chosen),
            )
        axes.set_yscale("log")
        measure = measure_name(table.measure, chosen)
        axes.set_title(_("Quarterly trend by level", chosen))
        axes.set_xlabel(_("Quarter", chosen))
        # TRANSLATORS: {measure} is "Records", "Filings" or "Zero reports".
        axes.set_ylabel(_("{measure} (logarithmic scale)", chosen).format(measure=measure))
        axes.tick_params(axis="x", labelrotation=45)
        axes.grid(visible=True, which="major", alpha=0.3)
        axes.legend()
        figure.savefig(target, format="png", dpi=_PNG_DPI)
    return ChartResult(target, chosen, font_file if chosen == "zh_CN" else None, fell_back)
