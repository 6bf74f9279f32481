"""Look at reports as a reader would: headless Chromium screenshots and render checks.

``python -m kit.publish.screenshots --out screenshots reports/`` writes a PNG of every page of the
newest run folder under ``reports/`` (``make screenshots``). The functions here are also
what the browser test uses: :func:`dump_dom` runs a page with a script that checks Chinese
glyphs are drawn, and :class:`NetworkWatch` records any request the page makes.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PNG screenshots of the newest report's pages")
    parser.add_argument("reports", nargs="?", default="reports", help="reports folder or a run folder")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    run = latest_run(Path(args.reports))
    if run is None:
        print(f"no run folder under {args.reports}: run `make report` first")
        return 1
    if find_chromium() is None:
        print("Chromium not found: apt-get install chromium (or set $CHROMIUM)")
        return 1
    out = Path(args.out)
    for page in sorted(run.glob("*.html")):
        png = screenshot(page, out / f"{run.parent.name}-{run.name}-{page.stem}.png", args.width, args.height)
        print(png)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
