"""`logship report` on a known dataset: text, JSON and HTML, and the HTML as Chromium shows it."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from analysis.config import AnalysisConfig
from analysis.detect import detect
from analysis.report import report_main
from analysis.template_store import TemplateStore
from tests.integration.analysis_helpers import (
    BASE,
    Line,
    count_color,
    decode_png,
    steady,
    store_batch_accounting,
    store_lines,
)

pytestmark = pytest.mark.integration

W = 300
SINCE = BASE.isoformat()
UNTIL = (BASE + timedelta(seconds=16 * W)).isoformat()
INFO_RGB = (0x4C, 0x78, 0xA8)
ERROR_RGB = (0xE4, 0x57, 0x56)


async def _dataset(url: str) -> dict[str, int]:
    """web1 and db1 steady for 16 windows, an error burst on web1 in window 13, drops."""
    conn = await asyncpg.connect(url)
    store = TemplateStore()
    try:
        web = steady(16, W)
        db = steady(16, W, host="db1", path="/var/log/db.log", per_window=10)
        start = BASE + timedelta(seconds=13 * W)
        burst = [
            Line(
                start + timedelta(seconds=i), f"disk failure on /dev/sd{i % 3} sector {i}", "error"
            )
            for i in range(40)
        ]
        await store_lines(conn, store, web + db + burst)
        await store_batch_accounting(
            conn, "b1", BASE + timedelta(seconds=60), "web1", {"binary": 3}
        )
        await store_batch_accounting(
            conn, "b2", BASE + timedelta(seconds=900), "db1", {"binary": 2, "too_long": 5}
        )
        cfg = AnalysisConfig(window_s=W)
        for k in range(12, 16):
            await detect(conn, BASE + timedelta(seconds=(k + 1) * W), W, cfg)
        return {"web": len(web) + len(burst), "db": len(db)}
    finally:
        await conn.close()


def _report(url: str, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"report.{fmt}"
    argv = ["--since", SINCE, "--until", UNTIL, "--format", fmt, "-o", str(out)]
    assert report_main([*argv, "--database-url", url, *extra]) == 0
    return out


def test_report_text_json_and_html_for_a_known_dataset(clean_db: str, tmp_path: Path) -> None:
    """Totals, top templates, hosts, drops and anomalies come out right in all three formats;
    the HTML is self-contained (no script, nothing fetched) with both SVG charts."""
    sizes = asyncio.run(_dataset(clean_db))

    data = json.loads(_report(clean_db, tmp_path, "json").read_text())
    assert data["events_total"] == sizes["web"] + sizes["db"]
    assert data["errors_total"] == 40
    assert data["top_hosts"][0] == {"host": "web1", "events": sizes["web"], "errors": 40}
    assert data["drops_by_reason"] == [
        {"reason": "binary", "lines": 5},
        {"reason": "too_long", "lines": 5},
    ]
    assert data["lines_dropped"] == 10
    templates = {t["template"] for t in data["top_templates"]}
    assert "disk failure on <*> sector <*>" in templates
    assert {a["kind"] for a in data["anomalies"]} >= {"error_rate_spike", "new_template"}
    assert sum(sum(v) for v in data["events_per_level"].values()) == data["events_total"]
    assert set(data["events_per_level"]) == {"info", "warning", "error"}

    host_only = json.loads(_report(clean_db, tmp_path, "json", "--host", "db1").read_text())
    assert host_only["events_total"] == sizes["db"] and host_only["errors_total"] == 0
    assert host_only["drops_by_reason"] == [
        {"reason": "too_long", "lines": 5},
        {"reason": "binary", "lines": 2},
    ]

    text = _report(clean_db, tmp_path, "text").read_text()
    for heading in ("Events per level", "Top templates", "Top hosts", "Dropped lines", "Anomalies"):
        assert heading in text
    assert "disk failure on <*> sector <*>" in text and "error_rate_spike" in text

    page = _report(clean_db, tmp_path, "html").read_text()
    assert page.count('<svg class="chart"') == 2
    assert "<script" not in page.lower()
    assert "disk failure on &lt;*&gt; sector &lt;*&gt;" in page
    for attr in ("src=", "href=", "url(", "@import"):
        assert attr not in page


def test_report_usage_and_database_errors(tmp_path: Path) -> None:
    """A bad --since is a usage error (2); an unreachable database fails with 1 and no file."""
    assert report_main(["--since", "yesterday-ish"]) == 2
    out = tmp_path / "r.txt"
    url = "postgresql://postgres@127.0.0.1:1/none"
    assert report_main(["--database-url", url, "-o", str(out)]) == 1
    assert not out.exists()


def test_html_report_renders_charts_in_chromium(clean_db: str, tmp_path: Path) -> None:
    """Headless Chromium draws the level bars and the error-rate line: the screenshot holds
    many pixels of the info and error colours."""
    asyncio.run(_dataset(clean_db))
    page = _report(clean_db, tmp_path, "html")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium package is needed (apt-get install chromium)"
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    assert count_color(rows, INFO_RGB) > 5000  # stacked bars
    assert count_color(rows, ERROR_RGB) > 500  # burst bar, rate line and area
    non_white = sum(1 for row in rows for v in row[::3] if v < 240)
    assert non_white > 0.03 * width * height


def test_database_url_comes_from_the_environment(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --database-url, LOGSHIP_DATABASE_URL names the database."""
    monkeypatch.setenv("LOGSHIP_DATABASE_URL", clean_db)
    monkeypatch.delenv("LOGSHIP_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    assert (
        report_main(["--since", SINCE, "--until", UNTIL, "--format", "json", "-o", str(out)]) == 0
    )
    assert json.loads(out.read_text())["events_total"] == 0
