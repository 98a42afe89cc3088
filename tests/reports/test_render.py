"""The report a person reads: HTML in the customer's language, its charts, the PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from monitor.config.records import Language
from monitor.model import Level
from monitor.policy.uptime import LevelChange
from monitor.reports.figures import CaseFacts, Month, MonthFigures, SiteFacts, Window, month_figures
from tests.reports.test_figures import contract, oslo, whole

OSLO = ZoneInfo("Europe/Oslo")
NOV = Month(2026, 11)
SVG = "{http://www.w3.org/2000/svg}"
REPORTS = Path(__file__).parents[2] / "monitor" / "reports"


def november() -> MonthFigures:
    """A month with two outages, a Level B afternoon, maintenance and three cases."""
    levels = (
        LevelChange(oslo(2026, 11, 3, 10), Level.A),
        LevelChange(oslo(2026, 11, 3, 16), None),
        LevelChange(oslo(2026, 11, 20, 8), Level.B),
        LevelChange(oslo(2026, 11, 20, 12), None),
        LevelChange(oslo(2026, 11, 28, 1), Level.A),
        LevelChange(oslo(2026, 11, 28, 1, 45), None),
    )
    shop = SiteFacts(
        "acme/shop",
        "shop.acme.example",
        whole(NOV),
        (Window(oslo(2026, 11, 10, 22), oslo(2026, 11, 10, 23), "Upgrade", oslo(2026, 11, 7)),),
        levels,
    )
    blog = SiteFacts("acme/blog", "blog.acme.example", ((oslo(2026, 11, 5), oslo(2026, 12, 1)),))
    cases = [
        CaseFacts(
            "VAKT-2026-000101",
            "acme/shop",
            Level.A,
            oslo(2026, 11, 3, 10),
            oslo(2026, 11, 3, 16),
            (oslo(2026, 11, 3, 10, 20),),
        ),
        CaseFacts("VAKT-2026-000102", "acme/shop", Level.B, oslo(2026, 11, 20, 8)),
        CaseFacts(
            "VAKT-2026-000103", "acme/shop", Level.A, oslo(2026, 11, 28, 1), oslo(2026, 11, 28, 2)
        ),
    ]
    return month_figures("acme", NOV, OSLO, [shop, blog], cases, contract(), oslo(2026, 12, 7))


def page(language: Language = Language.NB) -> str:
    from monitor.reports.render import Reader, html

    return html(november(), Reader("ACME AS", language, OSLO, "Europe/Oslo"))


def chart(html: str, chart_id: str) -> ET.Element:
    found = re.search(rf'id="{chart_id}">(<svg.*?</svg>)', html, re.S)
    assert found is not None
    return ET.fromstring(found[1])


def height(group: ET.Element) -> float:
    """The height of the first path in a group, from its `d` coordinates."""
    path = group.find(f"{SVG}path")
    assert path is not None
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    ys = numbers[1::2]
    return max(ys) - min(ys)


def bars(svg: ET.Element) -> dict[str, float]:
    """Each day's bar height as a share of the plot area's (the axis runs 0-100 %)."""
    groups = {g.get("id"): g for g in svg.iter(f"{SVG}g")}
    area = height(groups["plot-area"])
    return {
        str(key)[4:]: height(g) / area
        for key, g in groups.items()
        if key is not None and key.startswith("day-")
    }


def test_the_availability_chart_has_one_bar_per_day_as_high_as_its_figure() -> None:
    figures = november()
    shown = bars(chart(page(), "availability-chart"))
    assert len(shown) == 30
    for day in figures.days:
        uptime = day.availability.uptime
        assert shown[day.day.isoformat()] == pytest.approx(uptime or 0.0, abs=1e-3)
    assert shown["2026-11-03"] == pytest.approx(1 - 6 / 24, abs=1e-3)  # the blog: no data yet
    assert shown["2026-11-10"] == pytest.approx(1.0)  # maintenance left out


@pytest.mark.parametrize(
    ("language", "title", "month"),
    [
        (Language.NB, "Tjenesterapport", "november 2026"),
        (Language.NL, "Servicerapport", "november 2026"),
        (Language.EN, "Service report", "November 2026"),
    ],
)
def test_the_report_is_in_the_customers_language(
    language: Language, title: str, month: str
) -> None:
    text = page(language)
    assert f"{title}: ACME AS" in text
    assert month in text
    for case in ("VAKT-2026-000101", "VAKT-2026-000102", "VAKT-2026-000103"):
        assert case in text


@pytest.mark.parametrize("language", [Language.NB, Language.NL])
def test_every_message_of_the_report_is_translated(language: Language) -> None:
    options: Any = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    found = extract_from_dir(
        str(REPORTS),
        method_map=[("templates/**.html", "jinja2"), ("render.py", "python")],
        options_map={"templates/**.html": options},
    )
    messages = {m for _f, _l, m, _c, _x in found if isinstance(m, str)}
    assert len(messages) > 30
    po = REPORTS.parent / "notify" / "locale" / language.value / "LC_MESSAGES" / "vakt.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=language.value)
    missing = [m for m in messages if m not in catalog or not catalog[m].string]
    assert not missing, f"untranslated in {language.value}: {sorted(missing)}"


def test_json_and_csv_carry_the_figures() -> None:
    from monitor.reports.export import as_json, cases_csv, days_csv

    figures = november()
    data = as_json(figures, "ACME AS")
    assert data["month"] == "2026-11"
    assert [c["case"] for c in data["cases"]] == [
        "VAKT-2026-000101",
        "VAKT-2026-000102",
        "VAKT-2026-000103",
    ]
    assert [c["met"] for c in data["cases"]] == [True, False, True]
    assert data["down_s"] == (6 * 60 + 45) * 60
    assert data["unacknowledged"] == 2
    days = days_csv(data).splitlines()
    assert len(days) == 1 + 2 * 30
    assert days[0].startswith("site,day,uptime")
    assert len(cases_csv(data).splitlines()) == 4


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_pdf_names_customer_month_and_every_case(tmp_path: Path) -> None:
    from monitor.reports.render import pdf

    document = tmp_path / "report.pdf"
    document.write_bytes(pdf(page()))
    text = subprocess.run(
        ["pdftotext", "-layout", str(document), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "ACME AS" in text
    assert "november 2026" in text
    for case in ("VAKT-2026-000101", "VAKT-2026-000102", "VAKT-2026-000103"):
        assert case in text
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(document), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    png = next(tmp_path.glob("p*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
