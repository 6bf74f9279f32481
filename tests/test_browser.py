"""The report as a reader sees it, in headless Chromium (skipped when Chromium is absent)."""
import re

import pytest

from kit.publish import screenshots

pytestmark = [pytest.mark.slow, pytest.mark.browser]

if screenshots.find_chromium() is None:
    pytest.skip("Chromium is not installed (apt-get install chromium to run these checks)",
                allow_module_level=True)


def _requests(page):
    with screenshots.NetworkWatch() as watch:
        screenshots.dump_dom(page, proxy=watch.url)
    return watch.requests


def _hosts(requests):
    import re

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


@pytest.mark.parametrize("page", ["index.html", "02_layering.html"])
def test_page_requests_nothing_from_the_network(small_run, baseline_hosts, page):
    hosts = _page_hosts(small_run.run_dir / page, baseline_hosts)
    assert hosts == set(), f"{page} fetched from {hosts}"


@pytest.mark.parametrize("page", ["index.html", "02_layering.html"])
def test_chinese_is_drawn_not_boxes(small_run, page):
    result = screenshots.glyph_check(small_run.run_dir / page)
    assert result["cjk_chars"] > 20
    assert result["drawn"], f"{page}: Chinese characters render as missing-glyph boxes"


def test_english_report_has_no_chinese_headings(small_run_en):
    import re

    text = (small_run_en.run_dir / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", text, re.S)
    assert headings and not any(re.search(r"[\u4e00-\u9fff]", h) for h in headings), headings
