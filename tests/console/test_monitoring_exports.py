"""The monitoring page's charts load nothing from anywhere; the CSV, the spreadsheet and the
annual report carry the same figures; viewing and exporting are audited."""

from __future__ import annotations

import base64
import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from bot.console import charts
from bot.models import AuditLog
from tests.console.conftest import login, report


def _svg(uri: str) -> str:
    assert uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def test_charts_are_self_contained_svg_without_script():
    svg = _svg(charts.bars("Cases by strand", [("Religion or belief", 3), ("Age", 1)]))
    assert svg.startswith("<svg") and "Religion or belief" in svg
    assert "<script" not in svg and "xml-stylesheet" not in svg
    # Nothing is fetched: no href or src pointing anywhere.
    assert not re.search(r'(?:href|src)="(?!#)', svg)
    line = _svg(charts.trend("Cases each month", ["Jan", "Feb"], {"Cases": [0, 2]}))
    assert "<script" not in line and "Feb" in line
    assert charts.ticks(7) == [0, 2, 4, 6, 8] and charts.ticks(0) == [0, 1]


def test_csv_spreadsheet_and_annual_report_agree_and_are_audited(client, services, staff):
    reference = report(services)
    login(client, "analyst")
    page = client.get("/console/reports")
    assert page.status_code == 200 and reference not in page.text
    assert page.text.count('<img class="chart"') >= 6
    assert page.text.count('<table class="figures"') >= 10

    rows = list(csv.reader(io.StringIO(client.get("/console/reports.csv").text)))
    assert rows[0] == ["section", "row", "column", "value"]
    assert ["Cases by strand", "Religion or belief", "Cases", "1"] in rows

    response = client.get("/console/reports.xlsx")
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["Cases by strand"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert ["Religion or belief", 1] in values
    assert "Victims' profile, " in " ".join(book.sheetnames)

    annual = client.get("/console/reports/annual").text
    assert "annual report" in annual and 'class="bar"' not in annual
    assert "report.css" in annual and reference not in annual

    with services.db.read() as session:
        actions = set(session.scalars(select(AuditLog.action).where(
            AuditLog.actor == "analyst")))
    assert {"figures_viewed", "figures_exported", "annual_report_viewed"} <= actions


def test_a_period_that_makes_no_sense_is_refused(client, services, staff):
    login(client, "analyst")
    assert client.get("/console/reports?year=1850").status_code == 400
    assert client.get("/console/reports?from=2026-03-01&to=2026-02-01").status_code == 400
    assert client.get("/console/reports?from=yesterday&to=today").status_code == 400
    assert client.get("/console/reports?scope=everything").status_code == 400
    assert client.get("/console/reports/annual?from=2026-01-01&to=2026-02-01") \
        .status_code == 400
    march = client.get("/console/reports?from=2026-03-01&to=2026-03-31")
    assert march.status_code == 200 and "1 Mar 2026 to 31 Mar 2026" in march.text
