"""The report as a reader sees it, in headless Chromium.

Skipped with the reason where Chromium is absent (``apt-get install chromium``). On CI,
``.ci/run`` installs it and sets ``KIT_REQUIRE_CHROMIUM=1``: there a missing Chromium fails
this module instead of skipping it, so CI cannot pass without running these checks.

Checks: the pages fetch nothing from the network, Chinese is drawn (not boxes), and on every
page of a zh and an en run at 1400 px no table runs past the content column without a
scroll frame and no page is blank (one Chromium launch per page).
"""
import os
import re

import pytest
from PIL import Image

from kit.publish import screenshots

pytestmark = [pytest.mark.browser]

CHROMIUM_MISSING = ("Chromium is not installed: apt-get install chromium (or set $CHROMIUM to a "
                    "Chromium/Chrome binary) to run the browser checks")

if screenshots.find_chromium() is None:
    if os.environ.get("KIT_REQUIRE_CHROMIUM"):
        pytest.fail(f"KIT_REQUIRE_CHROMIUM is set but {CHROMIUM_MISSING}", pytrace=False)
    pytest.skip(CHROMIUM_MISSING, allow_module_level=True)

#: The pages every run has; a run may have more (all are checked).
PAGES = ("index.html", "01_clean.html", "02_layering.html", "03_personas.html", "04_clv.html",
         "05_strategy.html")
WIDTH = 1400
#: A report page's screenshot inks 0.15 to 0.3 of its pixels (text, tables, charts); below
#: this share the page is all but empty (a nav bar and a title), though not strictly blank.
#: The client's landing page is short (0.017 with one period): it only has to be not blank.
REPORT_MIN_INK = 0.05


def _requests(page):
    with screenshots.NetworkWatch() as watch:
        screenshots.dump_dom(page, proxy=watch.url)
    return watch.requests


def _hosts(requests):
    out = set()
    for r in requests:
        m = re.match(r"(?:CONNECT\s+([^:\s]+)|[A-Z]+\s+https?://([^/:\s]+))", r)
        if m:
            out.add(m.group(1) or m.group(2))
    return out


#: Chromium's own service calls (time, updates, accounts) that come whatever the page;
#: Google's font and CDN hosts are deliberately not in this list.
CHROMIUM_OWN = re.compile(r"^(clients\d*\.google\.com|accounts\.google\.com|[a-z0-9-]+\.gvt1\.com|"
                          r"(update|optimizationguide-pa|content-autofill|safebrowsing[a-z]*)\.googleapis\.com)$")


@pytest.fixture(scope="module")
def baseline_hosts(tmp_path_factory):
    """Hosts Chromium itself calls (updates, time) when showing an empty local page."""
    blank = tmp_path_factory.mktemp("blank") / "blank.html"
    blank.write_text("<html><body>blank</body></html>", encoding="utf-8")
    return _hosts(_requests(blank))


def _page_hosts(page, baseline):
    return {h for h in _hosts(_requests(page)) - baseline if not CHROMIUM_OWN.match(h)}


def test_watch_sees_a_cdn_script(tmp_path, baseline_hosts):
    page = tmp_path / "cdn.html"
    page.write_text('<html><head><script src="https://cdn.example.org/x.js"></script></head>'
                    '<body>x</body></html>', encoding="utf-8")
    assert "cdn.example.org" in _page_hosts(page, baseline_hosts)


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "02_layering.html"])
def test_page_requests_nothing_from_the_network(small_run, baseline_hosts, page):
    hosts = _page_hosts(small_run.run_dir / page, baseline_hosts)
    assert hosts == set(), f"{page} fetched from {hosts}"


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "02_layering.html"])
def test_chinese_is_drawn_not_boxes(small_run, page):
    result = screenshots.glyph_check(small_run.run_dir / page)
    assert result["cjk_chars"] > 20
    assert result["drawn"], f"{page}: Chinese characters render as missing-glyph boxes"


@pytest.mark.slow
def test_english_report_has_no_chinese_headings(small_run_en):
    text = (small_run_en.run_dir / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", text, re.S)
    assert headings and not any(re.search(r"[\u4e00-\u9fff]", h) for h in headings), headings


# ---- layout: tables fit or scroll, pages drawn ----------------------------------------------
#: One page, one table per case; the id says whether the check must flag it. Laid out like
#: the report: a centred <main> 1180 px wide, tables in it.
LAYOUT_CASES = """<!DOCTYPE html><html><head><style>
body { margin: 0; } main { max-width: 1180px; margin: 0 auto; padding: 10px 20px; }
td { padding: 2px 6px; white-space: nowrap; } .frame { max-width: 100%; overflow-x: auto; }
</style></head><body><main><h1>layout cases</h1>
<table id="ok-narrow"><tr><td>a</td><td>b</td></tr></table>
<table id="bad-wide" style="width: 1600px"><tr><td>wide, no frame</td></tr></table>
<div class="frame"><table id="ok-framed" style="width: 2000px"><tr><td>wide, framed</td></tr></table></div>
<div style="overflow-x: auto; width: 1500px"><table id="bad-wide-frame" style="width: 1700px"><tr>
<td>frame wider than the column</td></tr></table></div>
<div style="overflow: hidden; width: 300px"><table id="bad-cut" style="width: 600px"><tr>
<td>cut off inside the column</td></tr></table></div>
<table id="hidden" style="display: none; width: 3000px"><tr><td>not shown</td></tr></table>
<details><summary>more</summary><table id="bad-in-details" style="width: 1500px"><tr>
<td>wide, in a closed details</td></tr></table></details>
</main></body></html>"""


def test_layout_check_flags_exactly_the_tables_that_run_off(tmp_path):
    page = tmp_path / "cases.html"
    page.write_text(LAYOUT_CASES, encoding="utf-8")
    result = screenshots.layout_check(page, width=WIDTH, png=tmp_path / "cases.png")
    ids = re.findall(r'<table id="([^"]+)"', LAYOUT_CASES)
    flagged = {ids[v["table"]] for v in result["violations"]}
    assert flagged == {"bad-wide", "bad-wide-frame", "bad-cut", "bad-in-details"}, result
    assert (result["tables"], result["hidden"]) == (6, 1)
    by_id = {ids[v["table"]]: v for v in result["violations"]}
    assert by_id["bad-wide"]["column_right"] == 1290  # (1400 - 1180 - 2 * 20) / 2 + 20 + 1180
    assert "without a scroll frame" in by_id["bad-wide"]["reason"]
    assert "scroll frame" in by_id["bad-wide-frame"]["reason"] and by_id["bad-wide-frame"]["frame_width"] == 1500
    assert "cut off" in by_id["bad-cut"]["reason"]
    line = screenshots.describe_violation(by_id["bad-wide"])
    assert line.startswith("cases.html table #1 (wide, no frame): 1600 px wide"), line
    assert not result["blank"] and (tmp_path / "cases.png").exists()


def test_blank_screenshot_is_recognised(tmp_path):
    blank, drawn = tmp_path / "blank.png", tmp_path / "drawn.png"
    Image.new("RGB", (200, 100), "white").save(blank)
    image = Image.new("RGB", (200, 100), "white")
    image.paste((30, 30, 30), (10, 10, 110, 30))
    image.save(drawn)
    assert screenshots.ink(blank) == 0
    assert screenshots.ink(drawn) > screenshots.BLANK_INK


def _report_pages(run_dir):
    """Every page of the run (sub-folders too) and the client's landing page(s) above it."""
    return sorted(run_dir.rglob("*.html")) + sorted(run_dir.parent.glob("*.html"))


@pytest.mark.slow
@pytest.mark.parametrize("run_fixture", ["small_run", "small_run_en"])
def test_every_table_fits_or_scrolls_at_1400px(request, run_fixture, tmp_path):
    """Every page at 1400 px: no table past its column without a scroll frame, no page wider
    than the window, no (nearly) blank page. The screenshots stay in tmp_path for a look."""
    run_dir = request.getfixturevalue(run_fixture).run_dir
    pages = _report_pages(run_dir)
    names = [str(p.relative_to(run_dir.parent)) for p in pages]
    for stem in (p.removesuffix(".html") for p in PAGES):
        assert any(n.split("/")[-1].startswith(stem + ".") for n in names), f"no {stem} page in {names}"
    problems, measured = [], 0
    for page, name in zip(pages, names):
        png = tmp_path / (name.replace("/", "-").removesuffix(".html") + ".png")
        result = screenshots.layout_check(page, width=WIDTH, png=png, name=name)
        measured += result["tables"]
        problems += [screenshots.describe_violation(v) for v in result["violations"]]
        if result["page_width"] > WIDTH:
            problems.append(f"{name}: the page is {result['page_width']} px wide in a {WIDTH} px window")
        min_ink = REPORT_MIN_INK if page.is_relative_to(run_dir) else screenshots.BLANK_INK
        if result["blank"] or result["ink"] < min_ink:
            problems.append(f"{name}: the screenshot is (nearly) blank: ink {result['ink']}")
    assert measured >= 2 * len(PAGES), f"only {measured} tables measured in {names}"
    assert not problems, f"{run_fixture} (screenshots in {tmp_path}):\n" + "\n".join(problems)
