"""Look at reports as a reader would: headless Chromium screenshots and render checks.

``python -m kit.publish.screenshots --out screenshots reports/`` writes a PNG of every page of the
newest run folder under ``reports/`` (``make screenshots``). The functions here are also
what the browser test uses: :func:`glyph_check` tells whether Chinese glyphs are drawn,
:func:`layout_check` measures every table against the page's content column (and that the
page is not blank), and :class:`NetworkWatch` records any request the page makes.
``python -m kit.publish.screenshots --check reports/`` runs the layout check on every page.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from PIL import Image

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary ($CHROMIUM first), or None."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _base_args(user_dir: str, proxy: str | None = None) -> list[str]:
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
        f"--user-data-dir={user_dir}", "--allow-file-access-from-files",
    ]
    if proxy:
        args += [f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>"]
    return args


def _run(extra: list[str], url: str, proxy: str | None = None, timeout: float = 90) -> str:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium not found: apt-get install chromium (or set $CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="kit-chromium-") as user_dir:
        proc = subprocess.run(
            [chromium, *_base_args(user_dir, proxy), *extra, url],
            capture_output=True, text=True, timeout=timeout,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400,
               proxy: str | None = None) -> Path:
    """PNG of ``page`` at the given window size."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={png}", f"--window-size={width},{height}", "--virtual-time-budget=5000"],
         Path(page).resolve().as_uri(), proxy=proxy)
    return png


def print_pdf(page: Path, pdf: Path) -> Path:
    """``page`` printed to ``pdf`` by headless Chromium (A4, no browser header or footer).

    Raises FileNotFoundError (with how to install it) where Chromium is absent."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--virtual-time-budget=5000"],
         Path(page).resolve().as_uri())
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF to {pdf}")
    return pdf


def dump_dom(page: Path, proxy: str | None = None, budget_ms: int = 8000) -> str:
    """The DOM after the page (and its scripts, fonts) settled."""
    return _run([f"--virtual-time-budget={budget_ms}", "--dump-dom"], Path(page).resolve().as_uri(),
                proxy=proxy)


#: A character in no font (Unicode private use area): always drawn as the missing-glyph box.
TOFU = "\ue000"


def _cjk_to_tofu(text: str) -> str:
    return re.sub(r"[\u4e00-\u9fff\u3400-\u4dbf]", TOFU, text)


def glyph_check(page: Path, width: int = 1280, height: int = 1600) -> dict:
    """Are the page's Chinese characters drawn as glyphs (not as boxes)?

    Screenshots ``page`` and a copy whose Chinese characters are all replaced by a
    private-use character that no font holds. Missing glyphs are drawn as the same box as
    that character, so identical screenshots mean the reader sees boxes; the check thus
    tests the rendered page itself, whatever fonts the machine has.
    """
    text = Path(page).read_text(encoding="utf-8")
    body = re.sub(r"data:[^\"')]+", "", text)
    n_cjk = len(re.findall(r"[\u4e00-\u9fff]", body))
    with tempfile.TemporaryDirectory(prefix="kit-glyph-") as tmp:
        tofu_page = Path(tmp) / ("tofu-" + Path(page).name)
        tofu_page.write_text(_cjk_to_tofu(text), encoding="utf-8")
        real = screenshot(Path(page), Path(tmp) / "real.png", width, height).read_bytes()
        boxes = screenshot(tofu_page, Path(tmp) / "tofu.png", width, height).read_bytes()
    return {"cjk_chars": n_cjk, "drawn": n_cjk > 0 and real != boxes}


#: Pixels a table may pass its column by (sub-pixel rounding of borders).
LAYOUT_TOLERANCE_PX = 1
#: Below this share of pixels differing from the dominant colour a screenshot counts as blank
#: (the word "hello" alone on a 1400 x 2000 page inks 0.0003; a report page 0.15 to 0.3).
BLANK_INK = 0.0001

#: Runs in the page after load (fonts ready, page scripts done) and writes what it measured,
#: as JSON, into a hidden ``<pre id="kit-layout-result">`` that ``--dump-dom`` returns.
#: The content column is ``<main>`` (both the index and the notebook pages have one), else
#: ``<body>``; its right edge is its content box, capped at the window. A table is fine
#: when its right edge stays inside the column, or when its nearest ancestor with
#: ``overflow-x: auto|scroll`` (below the body) is narrower than the table and itself fits:
#: the reader scrolls it. An ``overflow: hidden|clip`` ancestor met first that ends left of
#: the table's right edge cuts the table off: that is a violation even inside the column.
LAYOUT_SCRIPT = """
<script>
(function () {
  var TOL = %(tol)d;
  function px(v) { return parseFloat(v) || 0; }
  function label(t) {
    var cap = t.querySelector('caption');
    if (cap) { return cap.textContent.trim().slice(0, 60); }
    var cells = Array.prototype.slice.call(t.querySelectorAll('tr:first-child > *'), 0, 3);
    return cells.map(function (c) { return c.textContent.trim().slice(0, 24); }).join(' | ');
  }
  function describe(el) {
    return el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '');
  }
  function check(t, i, col, colRight, out) {
    var r = t.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) { out.hidden += 1; return; }
    out.tables += 1;
    var v = {table: i, label: label(t), table_width: Math.round(r.width), table_right: Math.round(r.right),
             column_right: Math.round(colRight)};
    var frame = null, a = t.parentElement;
    while (a && a !== document.body && a !== document.documentElement) {
      var ox = getComputedStyle(a).overflowX, ar = a.getBoundingClientRect();
      if (ox === 'auto' || ox === 'scroll') { frame = a; break; }
      if ((ox === 'hidden' || ox === 'clip') && r.right > ar.right + TOL) {
        v.reason = 'cut off by ' + describe(a) + ' (overflow-x ' + ox + ', right edge ' + Math.round(ar.right) + ')';
        out.violations.push(v); return;
      }
      if (a === col) { break; }
      a = a.parentElement;
    }
    if (r.right <= colRight + TOL) { return; }
    if (frame) {
      var fr = frame.getBoundingClientRect();
      v.frame = describe(frame); v.frame_width = Math.round(fr.width); v.frame_right = Math.round(fr.right);
      var fits = frame === col || fr.right <= colRight + TOL;
      if (frame.clientWidth < r.width && fits) { return; }
      v.reason = 'its scroll frame ' + v.frame + ' runs past the column too';
    } else {
      v.reason = 'runs past the column without a scroll frame';
    }
    out.violations.push(v);
  }
  function measure() {
    var out = {window_width: window.innerWidth, page_width: document.documentElement.scrollWidth,
               tables: 0, hidden: 0, violations: []};
    try {
      document.querySelectorAll('details').forEach(function (d) { d.open = true; });
      var col = document.querySelector('main') || document.body;
      var cs = getComputedStyle(col), cr = col.getBoundingClientRect();
      var colRight = Math.min(cr.right - px(cs.paddingRight) - px(cs.borderRightWidth),
                              document.documentElement.clientWidth);
      out.column = describe(col); out.column_right = Math.round(colRight);
      document.querySelectorAll('table').forEach(function (t, i) { check(t, i, col, colRight, out); });
    } catch (e) { out.error = String(e); }
    var pre = document.createElement('pre');
    pre.id = 'kit-layout-result'; pre.hidden = true; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    // a timer, not requestAnimationFrame: headless --dump-dom draws no frames
    document.fonts.ready.then(function () { setTimeout(measure, 100); });
  });
})();
</script>
""" % {"tol": LAYOUT_TOLERANCE_PX}


def ink(png: Path) -> float:
    """Share of a screenshot's pixels that differ from its dominant (background) grey."""
    with Image.open(png) as im:
        hist = im.convert("L").histogram()
    return 1 - max(hist) / sum(hist)


def _with_script(text: str, script: str) -> str:
    at = text.lower().rfind("</body>")
    return text + script if at < 0 else text[:at] + script + text[at:]


def layout_check(page: Path, width: int = 1400, height: int = 2000, png: Path | None = None,
                 name: str | None = None) -> dict:
    """Measure every table of ``page`` at ``width`` px and screenshot it, in one Chromium launch.

    Returns what :data:`LAYOUT_SCRIPT` measured (``tables``, ``hidden``, ``violations``: one
    dict per table that runs past its column without a scroll frame, with ``label``,
    ``table_width``, ``table_right``, ``column_right``, ``reason``), plus ``page``, the
    screenshot's ``ink`` and ``blank`` (ink below :data:`BLANK_INK`). ``name`` (default: the
    file name) names the page in the result. The page is copied with the script added; the
    original is not touched. The PNG is kept when ``png`` is given.
    """
    page = Path(page)
    name = name or page.name
    text = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="kit-layout-") as tmp:
        probe = Path(tmp) / page.name
        probe.write_text(_with_script(text, LAYOUT_SCRIPT), encoding="utf-8")
        shot = Path(png) if png else Path(tmp) / "page.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        dom = _run([f"--screenshot={shot}", f"--window-size={width},{height}",
                    "--virtual-time-budget=8000", "--dump-dom"], probe.as_uri())
        if not shot.exists():
            raise RuntimeError(f"{name}: chromium wrote no screenshot")
        share = ink(shot)
    found = re.search(r'<pre id="kit-layout-result"[^>]*>(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError(f"{name}: the layout script did not run (no result in the DOM)")
    result = json.loads(html.unescape(found.group(1)))
    if "error" in result:
        raise RuntimeError(f"{name}: the layout script failed: {result['error']}")
    result.update(page=name, ink=round(share, 4), blank=share < BLANK_INK)
    for v in result["violations"]:
        v["page"] = name
    return result


def describe_violation(v: dict) -> str:
    """One line: page, table, widths, what is wrong."""
    frame = f", frame {v['frame']} {v['frame_width']} px wide to {v['frame_right']}" if "frame" in v else ""
    return (f"{v['page']} table #{v['table']} ({v['label']}): {v['table_width']} px wide, right edge at "
            f"{v['table_right']} px, column ends at {v['column_right']} px{frame}: {v['reason']}")


class NetworkWatch:
    """A loopback 'proxy' that accepts connections and records what was asked for.

    Give Chromium ``--proxy-server=<watch.url>``: every http(s) request the page makes
    arrives here instead of the network, and is listed in :attr:`requests`.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "<unreadable>"
                self.requests.append(first)
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def __enter__(self) -> "NetworkWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


def latest_run(out_dir: Path) -> Path | None:
    """The newest run folder (holding index.html and run.json) below ``out_dir``."""
    runs = [p.parent for p in Path(out_dir).glob("*/*/run.json") if not p.parent.name.startswith(".")]
    runs += [p.parent for p in Path(out_dir).glob("run.json")]
    return max(runs, key=lambda p: (p / "run.json").stat().st_mtime) if runs else None


def _check_pages(run: Path, out: Path, width: int, height: int) -> int:
    """Layout check and screenshot of every page of ``run``; the number of problems found."""
    problems = 0
    for page in sorted(run.glob("*.html")):
        result = layout_check(page, width, height, png=out / f"{run.parent.name}-{run.name}-{page.stem}.png")
        lines = [describe_violation(v) for v in result["violations"]]
        if result["page_width"] > width:
            lines.append(f"{page.name}: the page is {result['page_width']} px wide in a {width} px window")
        if result["blank"]:
            lines.append(f"{page.name}: the screenshot is blank")
        print(f"{page.name}: {result['tables']} tables, {len(lines)} problems")
        for line in lines:
            print(f"  {line}")
        problems += len(lines)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PNG screenshots of the newest report's pages")
    parser.add_argument("reports", nargs="?", default="reports", help="reports folder or a run folder")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--check", action="store_true",
                        help="also check that every table fits its column or scrolls; exit 1 if not")
    args = parser.parse_args(argv)
    run = latest_run(Path(args.reports))
    if run is None:
        print(f"no run folder under {args.reports}: run `make report` first")
        return 1
    if find_chromium() is None:
        print("Chromium not found: apt-get install chromium (or set $CHROMIUM)")
        return 1
    out = Path(args.out)
    if args.check:
        return 1 if _check_pages(run, out, args.width, args.height) else 0
    for page in sorted(run.glob("*.html")):
        png = screenshot(page, out / f"{run.parent.name}-{run.name}-{page.stem}.png", args.width, args.height)
        print(png)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
