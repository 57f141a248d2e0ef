"""The built docs site, as headless Chromium renders it offline: maths typeset, nothing cut off, every picture shown.

The site is the one `tests/test_docs.py` builds (its `site` fixture: built once per test session and shared, also
between pytest-xdist workers). One headless Chromium, driven over the DevTools protocol on a pipe (no WebSocket
library, no driver), opens each page from disk at a desktop and a phone width, waits for its fonts and pictures,
and runs a probe script in it. A page fails on:
- raw TeX left in its text (`$$`, `\\frac`, `\\(`, ...: KaTeX missing, not run, or the maths not recognised), a KaTeX
  error, or KaTeX's fonts not loaded;
- any request to the network (a stylesheet, script, font or picture: the site must render offline);
- a code block, output, signature, equation or table whose content is wider than its box while the box does not
  scroll (cut off), or any text or box that reaches past the page's content column without a scrolling box around it;
- page-level horizontal overflow (`document.scrollingElement.scrollWidth > window.innerWidth`);
- a broken picture (`img.naturalWidth == 0`).
Folded cells (`<details>`) are opened before measuring, so their code is checked too. Two more tests run the probe on
pages made to fail and to pass (the latter with the vendored KaTeX), so that a probe that sees nothing cannot pass.

Without chromium the tests skip, saying how to install it (`apt-get install -y chromium`). By hand:
`python tests/test_site_browser.py _site [page.html ...]` checks a built site;
`python tests/test_site_browser.py --screenshots OUT_DIR _site [page.html ...]` shoots whole pages as PNG tiles
(`FULL=1 tools/screenshot_docs.sh` calls it).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PAGE_TIMEOUT = 90

# Runs after the page's own deferred scripts (smalldocs.js typesets the maths), once pictures and fonts have loaded.
PROBE_JS = r"""
(() => {
  const out = { rawTex: [], katexErrors: 0, katexFonts: null, cutOff: [], overflow: [], pageOverflow: null, brokenImages: [] };
  const short = (s) => s.replace(/\s+/g, " ").trim().slice(0, 90);
  const where = (el) => {
    const cell = el.closest && el.closest("[id]");
    const tag = el.tagName ? el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") : "#text";
    return tag + (cell ? " in #" + cell.id : "") + ": " + short(el.textContent || "");
  };
  const finish = () => {
    document.querySelectorAll("details").forEach((d) => d.open = true);  // folded checks are measured too
    const main = document.querySelector("main") || document.body;
    // 1. maths: no TeX left in the text outside code; no KaTeX errors; KaTeX's fonts in use
    // $$, a TeX command, \( \) \[ \], or $...$ around a subscript, superscript or braces
    const TEX = /\$\$|\\(frac|sum|int|mathbf|mathrm|left|right|begin|end|cdot|odot|sigma|tanh|hat|top|in\b)|\\\(|\\\)|\\\[|\\\]|\$[^$\s][^$]*[_^{][^$]*\$/;
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const p = n.parentElement;
      if (!p || p.closest("pre, code, script, style, .katex, .katex-display, .sourceCode, textarea")) continue;
      if (TEX.test(n.nodeValue)) out.rawTex.push(short(n.nodeValue));
    }
    out.katexErrors = document.querySelectorAll(".katex-error").length;
    if (document.querySelector(".katex")) out.katexFonts = document.fonts.check("16px KaTeX_Main") && [...document.fonts].some((f) => f.family.replace(/"/g, "") === "KaTeX_Main" && f.status === "loaded");
    // 2. cut off: a box whose content is wider than it, which does not scroll
    const scrolls = (el) => /^(auto|scroll)$/.test(getComputedStyle(el).overflowX);
    main.querySelectorAll("pre, table, .sourceCode, .cell-output, .math.display, .katex-display, blockquote, dl, .sd-table").forEach((el) => {
      if (el.closest("details:not([open])")) return;
      if (el.scrollWidth > el.clientWidth + 1 && !scrolls(el) && ![...ancestors(el)].some(scrolls))  // no box to scroll it in
        out.cutOff.push(where(el) + ` (content ${el.scrollWidth}px in a ${el.clientWidth}px box that does not scroll)`);
    });
    function* ancestors(el) { for (let a = el.parentElement; a && a !== main; a = a.parentElement) yield a; }
    // 3. anything reaching past the content column, unless a scrolling box inside the column holds it
    const cs = getComputedStyle(main), mr = main.getBoundingClientRect();
    const left = mr.left + parseFloat(cs.paddingLeft) - 1, right = mr.right - parseFloat(cs.paddingRight) + 1;
    const WIDE = "[class*=column-page], [class*=column-screen], [class*=column-body-outset], [class*=column-margin], .margin-aside, .aside";
    const held = (node) => {
      for (let a = node.nodeType === 3 ? node.parentElement : node.parentElement; a && a !== main; a = a.parentElement) {
        if (scrolls(a)) { const r = a.getBoundingClientRect(); return r.left >= left - 1 && r.right <= right + 1; }
      }
      return false;
    };
    const seen = new Set();
    const all = document.createTreeWalker(main, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = all.nextNode(); n; n = all.nextNode()) {
      const el = n.nodeType === 3 ? n.parentElement : n;
      if (!el || el.closest(WIDE) || el.closest("script, style")) continue;
      let r, slack = 0;
      if (n.nodeType === 3) {
        if (!n.nodeValue.trim()) continue;
        const rg = document.createRange(); rg.selectNodeContents(n); r = rg.getBoundingClientRect();
        slack = 0.75 * parseFloat(getComputedStyle(el).fontSize);  // a space that hangs at the end of a wrapped line
      } else r = n.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if ((r.right > right + slack || r.left < left - slack) && !held(n)) {
        const box = n.nodeType === 3 ? n.parentElement : n;
        if (seen.has(box)) continue;
        seen.add(box);
        out.overflow.push(where(box) + ` (spans ${Math.round(r.left)}-${Math.round(r.right)}px; the column is ${Math.round(left)}-${Math.round(right)}px)`);
      }
    }
    // 4. the page itself
    const se = document.scrollingElement;
    if (se.scrollWidth > window.innerWidth) out.pageOverflow = `${se.scrollWidth}px wide in a ${window.innerWidth}px window`;
    // 5. pictures
    document.querySelectorAll("img").forEach((img) => { if (!img.naturalWidth) out.brokenImages.push(img.getAttribute("src")); });
    return out;
  };
  const ready = () => Promise.all([document.fonts.ready, ...[...document.images].map((i) => i.complete ? 0 : new Promise((r) => { i.onload = i.onerror = r; }))]);
  return ready().then(() => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(finish()), 50))));
})()
"""


def find_browser() -> str | None:
    for b in BROWSERS:
        path = shutil.which(b)
        if path:
            return path
    return None


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages ending
    in NUL on file descriptors 3 and 4), so that one browser renders every page and no WebSocket library is needed."""

    def __init__(self, browser: str, profile: str, scrollbars: bool = False):
        import fcntl

        def high(fd: int) -> int:  # a copy numbered 10 or more, so that placing the ends on 3 and 4 overwrites neither
            new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return new

        self.cmd_r, self.cmd_w = map(high, os.pipe())  # we write commands; chromium reads them on its fd 3
        self.ev_r, self.ev_w = map(high, os.pipe())  # chromium writes replies and events on its fd 4
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--mute-audio", f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        flags[-2:-2] = [] if scrollbars else ["--hide-scrollbars"]  # screenshots show them: a box that scrolls looks it

        def fds():  # in the child, before exec: the pipe ends on 3 and 4 (os.dup2 makes them inheritable)
            os.dup2(self.cmd_r, 3)
            os.dup2(self.ev_w, 4)

        # close_fds=False: closing would drop 3 and 4; every other descriptor of ours is close-on-exec anyway
        self.proc = subprocess.Popen([browser, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=fds, close_fds=False)
        os.close(self.cmd_r)
        os.close(self.ev_w)
        self.buf, self.next_id, self.events = b"", 0, []

    def _read(self, deadline: float) -> dict:
        import select
        import time

        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.ev_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.ev_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium exited (code {self.proc.poll()})")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = PAGE_TIMEOUT) -> dict:
        "Send a command and wait for its reply; events that arrive meanwhile are kept in `self.events`."
        import time

        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, session: str, timeout: float = PAGE_TIMEOUT) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def render(self, url: str, width: int, height: int, mobile: bool, script: str) -> dict:
        "Open `url` in a new tab of the given size, wait for its load event, and return what `script` (a promise) resolves to."
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self.send("Page.enable", session=session)
            self.send("Network.enable", session=session)
            self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session)
            self.events.clear()
            self.send("Page.navigate", {"url": url}, session)
            self.wait_event("Page.loadEventFired", session)
            r = self.send("Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True}, session)
            if "exceptionDetails" in r:
                raise RuntimeError(f"the probe failed: {r['exceptionDetails'].get('exception', {}).get('description') or r['exceptionDetails']}")
            out = r["result"]["value"]
            out["network"] = sorted({m["params"]["request"]["url"] for m in self.events
                                     if m.get("method") == "Network.requestWillBeSent" and m.get("sessionId") == session
                                     and not re.match(r"(file|data|about|blob|chrome|devtools):", m["params"]["request"]["url"])})
            return out
        finally:
            self.send("Target.closeTarget", {"targetId": target})
            self.events = [m for m in self.events if m.get("sessionId") != session]

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.cmd_w)
        os.close(self.ev_r)


def probe_site(site: Path, pages: list[str] | None = None, widths: dict = WIDTHS, browser: str | None = None) -> dict:
    """Open each page (default: every top-level page) in headless Chromium at each width, and return
    {(page, width name): the probe's findings, or {"error": ...}}."""
    browser = browser or find_browser()
    if not browser:
        raise RuntimeError("no chromium: apt-get install -y chromium")
    pages = pages or sorted(p.name for p in site.glob("*.html"))
    results = {}
    with tempfile.TemporaryDirectory(prefix="molap-probe-") as tmp:
        chrome = Chromium(browser, tmp)
        try:
            for page in pages:
                for name, (w, h) in widths.items():
                    try:
                        # mobile=False even for the phone: a mobile viewport widens itself to fit content that overflows,
                        # which would hide the overflow; the page's CSS sees the same narrow width either way
                        results[(page, name)] = chrome.render((site / page).resolve().as_uri(), w, h, False, PROBE_JS)
                    except (TimeoutError, RuntimeError) as e:
                        results[(page, name)] = {"error": str(e)}
                        if chrome.proc.poll() is not None:  # the browser died: start another for the next pages
                            chrome = Chromium(browser, tmp)
        finally:
            chrome.close()
    return results


def screenshot_site(site: Path, out: Path, pages: list[str] | None = None, width: int = 1280, tile: int = 2400,
                    browser: str | None = None) -> list[Path]:
    """Screenshot each whole page (default: every top-level page) at `width`, once its maths and pictures are in, as
    PNG tiles `tile` pixels high: `out/<page>-01.png`, ... Returns the files written."""
    import base64

    browser = browser or find_browser()
    if not browser:
        raise RuntimeError("no chromium: apt-get install -y chromium")
    pages = pages or sorted(p.name for p in site.glob("*.html"))
    out.mkdir(parents=True, exist_ok=True)
    # the page's height once its fonts (KaTeX's) and pictures are in
    ready = ("Promise.all([document.fonts.ready, ...[...document.images].map((i) => i.complete ? 0 : "
             "new Promise((r) => { i.onload = i.onerror = r; }))]).then(() => document.scrollingElement.scrollHeight)")
    files = []
    with tempfile.TemporaryDirectory(prefix="molap-shots-") as tmp:
        chrome = Chromium(browser, tmp, scrollbars=True)
        try:
            for page in pages:
                target = chrome.send("Target.createTarget", {"url": "about:blank"})["targetId"]
                session = chrome.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                try:
                    chrome.send("Page.enable", session=session)
                    chrome.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
                    chrome.send("Page.navigate", {"url": (site / page).resolve().as_uri()}, session)
                    chrome.wait_event("Page.loadEventFired", session)
                    height = chrome.send("Runtime.evaluate", {"expression": ready, "awaitPromise": True, "returnByValue": True}, session)["result"]["value"]
                    for k, y in enumerate(range(0, int(height), tile), 1):
                        clip = {"x": 0, "y": y, "width": width, "height": min(tile, int(height) - y), "scale": 1}
                        shot = chrome.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}, session)
                        f = out / f"{Path(page).stem}-{k:02d}.png"
                        f.write_bytes(base64.b64decode(shot["data"]))
                        files.append(f)
                finally:
                    chrome.send("Target.closeTarget", {"targetId": target})
        finally:
            chrome.close()
    return files


def problems(results: dict, keys: tuple[str, ...]) -> list[str]:
    "The findings under `keys`, one line each: `page (width): finding`."
    lines = []
    for (page, width), r in sorted(results.items()):
        if "error" in r:
            lines.append(f"{page} ({width}): {r['error']}")
            continue
        for k in keys:
            v = r.get(k)
            if k == "katexErrors":
                lines += [f"{page} ({width}): {v} KaTeX error(s) (.katex-error)"] if v else []
            elif k == "katexFonts":
                lines += [f"{page} ({width}): KaTeX's fonts did not load (site_libs/katex/fonts)"] if v is False else []
            else:
                lines += [f"{page} ({width}) {k}: {item}" for item in (v if isinstance(v, list) else [v] if v else [])]
    return lines


# ---------------------------------------------------------------- the tests

browser = find_browser()
pytestmark = pytest.mark.skipif(not browser, reason="needs headless Chromium: apt-get install -y chromium (Debian)")

pytest.importorskip("nbdev")
pytest.importorskip("smalldocs")
from test_docs import site  # noqa: E402,F401  -- the one shared build


@pytest.fixture(scope="module")
def rendered(site):  # noqa: F811
    """The findings for every page at both widths, probed once per build: saved beside the site, so that pytest-xdist
    workers that run tests of this file share them (under a lock, as they share the build)."""
    from contextlib import nullcontext

    saved = site.parent / f"{site.name}-browser-probe.json"
    try:
        from filelock import FileLock

        lock = FileLock(str(saved) + ".lock")
    except ImportError:
        lock = nullcontext()
    with lock:
        if saved.exists():
            return {tuple(k.split("|", 1)): v for k, v in json.loads(saved.read_text(encoding="utf-8")).items()}
        res = probe_site(site, browser=browser)
        saved.write_text(json.dumps({"|".join(k): v for k, v in res.items()}), encoding="utf-8")
        return res


def test_pages_render_in_chromium(rendered):
    assert rendered, "no page was probed"
    bad = [f"{p} ({w}): {r['error']}" for (p, w), r in rendered.items() if "error" in r]
    assert not bad, "\n  ".join(["pages that did not render:", *bad])


def test_maths_is_typeset(rendered):
    bad = problems(rendered, ("rawTex", "katexErrors", "katexFonts"))
    assert not bad, "\n  ".join(["maths left as TeX or not typeset:", *bad])


def test_nothing_loaded_from_the_network(rendered):
    bad = problems({k: v for k, v in rendered.items() if k[1] == "desktop"}, ("network",))
    assert not bad, "\n  ".join(["the site must render offline, but pages load:", *bad])


def test_nothing_cut_off(rendered):
    bad = problems(rendered, ("cutOff", "overflow", "pageOverflow"))
    assert not bad, "\n  ".join(["cut off or overflowing the page (wrap it, or let its own box scroll):", *bad])


def test_no_broken_images(rendered):
    bad = problems({k: v for k, v in rendered.items() if k[1] == "desktop"}, ("brokenImages",))
    assert not bad, "\n  ".join(["broken pictures:", *bad])


# ---------------------------------------------------------------- the probe itself, on pages made to fail or pass

BAD_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="stylesheet" href="http://127.0.0.1:9/theme.css"></head>
<body style="margin:0"><main style="width:500px; padding:0 20px">
<p id="tex">The rate is $$\\frac{1}{\\tau}$$ per step.</p><p>The state $h_t$ is left raw.</p>
<pre id="cut" style="overflow:hidden; white-space:pre">""" + "x = 1  " * 60 + """</pre>
<div id="wide" style="width:900px">a box wider than the column</div>
<img src="missing.png" alt="">
</main></body></html>"""

GOOD_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="stylesheet" href="katex/katex.min.css">
<script src="katex/katex.min.js" defer></script><script src="katex/contrib/auto-render.min.js" defer></script>
<script defer src="typeset.js"></script><script defer src="katex/fit-maths.js"></script>
<style>pre { white-space: pre-wrap; overflow-wrap: anywhere } .katex-display { overflow-x: auto; overflow-y: hidden }
.box { overflow-x: auto }</style></head>
<body style="margin:0"><main style="max-width:500px; padding:0 20px">
<p>Inline \\(h_t = f(W h_{t-1})\\) and display:</p>
<p>\\[g_{t-1} = \\frac{\\partial \\ell}{\\partial h_{t-1}} + (1-\\alpha)\\, g_t + W_{rec}^\\top \\delta_t, \\qquad
\\frac{\\partial L}{\\partial W_{rec}} = \\sum_t \\delta_t h_{t-1}^\\top, \\qquad \\frac{\\partial L}{\\partial u_t} = \\delta_t .\\]</p>
<pre>""" + "y = 2  " * 60 + """</pre>
<div class="box"><table><tr>""" + "<td>a&nbsp;long&nbsp;cell</td>" * 20 + """</tr></table></div>
<img src="colab-badge.svg" alt="badge">
</main></body></html>"""


def test_probe_catches_problems(tmp_path):
    (tmp_path / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    res = probe_site(tmp_path, ["bad.html"])  # one browser for both widths
    r = res[("bad.html", "desktop")]
    assert "error" not in r, r
    assert any("frac" in t for t in r["rawTex"]) and any("$h_t$" in t for t in r["rawTex"]), r
    assert any("#cut" in c for c in r["cutOff"]), r
    assert any("#wide" in o for o in r["overflow"]), r
    assert r["brokenImages"] == ["missing.png"], r
    assert r["network"] == ["http://127.0.0.1:9/theme.css"], r
    assert res[("bad.html", "phone")]["pageOverflow"], res


def test_probe_passes_vendored_katex_and_wrapped_code(tmp_path):
    "The vendored KaTeX typesets offline (fonts included), and wrapped code, a scrolling table and a wide equation pass."
    vendor = Path(__file__).resolve().parents[1] / "tools" / "vendor"
    shutil.copytree(vendor / "katex", tmp_path / "katex")
    shutil.copy2(vendor / "fit-maths.js", tmp_path / "katex" / "fit-maths.js")
    shutil.copy2(vendor / "colab-badge.svg", tmp_path / "colab-badge.svg")
    (tmp_path / "typeset.js").write_text(
        'renderMathInElement(document.body, {delimiters: [{left: "\\\\[", right: "\\\\]", display: true}, '
        '{left: "\\\\(", right: "\\\\)", display: false}], throwOnError: false});', encoding="utf-8")
    (tmp_path / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    res = probe_site(tmp_path, ["good.html"])
    keys = ("rawTex", "katexErrors", "katexFonts", "network", "cutOff", "overflow", "pageOverflow", "brokenImages")
    assert not problems(res, keys), problems(res, keys)
    assert all(r["katexFonts"] for r in res.values()), res


if __name__ == "__main__":
    # python tests/test_site_browser.py SITE [page.html ...]              check a built site, as the tests do
    # python tests/test_site_browser.py --screenshots OUT SITE [page ...]  whole-page screenshots, as PNG tiles
    args = sys.argv[1:]
    if args[:1] == ["--screenshots"]:
        if len(args) < 3:
            sys.exit("usage: python tests/test_site_browser.py --screenshots OUT_DIR SITE_DIR [page.html ...]")
        width, tile = (int(os.environ.get(k, d)) for k, d in (("WIDTH", 1280), ("TILE", 2400)))
        for f in screenshot_site(Path(args[2]), Path(args[1]), args[3:] or None, width, tile):
            print(f)
        sys.exit(0)
    site_dir = Path(args[0] if args else "_site")
    res = probe_site(site_dir, args[1:] or None)
    keys = ("rawTex", "katexErrors", "katexFonts", "network", "cutOff", "overflow", "pageOverflow", "brokenImages")
    found = problems(res, keys)
    print("\n".join(found) or f"{len(res)} page renderings: no problem found")
    sys.exit(1 if found else 0)
