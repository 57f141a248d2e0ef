"""The offline docs build (tools/build_docs.py: nbdev's processing + smalldocs) makes a whole, linked site.

The site is built from a copy of the project (pyproject.toml, nbs/, the package, tools/build_docs.py) in a
temporary folder, as a fresh checkout would build it, so the test neither races with nor dirties the working tree.
It fails when:
- a notebook in nbs/ has no page (named as nbdev names it: `00_tasks.ipynb` -> `tasks.html`);
- a page links (href/src) to a local file that does not exist, or to an #anchor that the target page lacks;
- a page's <img> points at a missing file, or a notebook's figures did not become pictures;
- a notebook with `#| export` cells defining public functions/classes has no API reference (show_doc heading);
- a cell that only checks things is not folded under "Checks", or another cell is;
- the site fetches a script, stylesheet, picture or CSS import from the network (KaTeX and the Colab badge are served
  from `site_libs/`).
How the pages look in a browser (maths typeset, nothing cut off) is tests/test_site_browser.py's job; it shares this
file's build.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("nbdev")
pytest.importorskip("smalldocs")

from nbdev.config import nbpath2html  # noqa: E402
from conftest import load_tool  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
PKG = "molap"
BUILD_TIMEOUT = 600


def notebooks() -> list[Path]:
    "The notebooks nbdev documents: *.ipynb under nbs/, outside folders and files starting with `_` or `.`."
    return sorted(
        p for p in NBS.rglob("*.ipynb")
        if not any(part.startswith((".", "_")) for part in p.relative_to(NBS).parts) and ".ipynb_checkpoints" not in p.parts
    )


def page_of(nb: Path) -> str:
    "The page nbdev makes of a notebook: the numeric prefix stripped, lower case, `.html`."
    return nbpath2html(nb.relative_to(NBS)).as_posix()


# ---------------------------------------------------------------- the build, once per test session (per xdist worker group)


def _copy_project(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_proc", "_docs", "_site", "nbdev.yml", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(NBS, dest / "nbs", ignore=ignore)
    shutil.copytree(ROOT / PKG, dest / PKG, ignore=ignore)
    (dest / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "build_docs.py", dest / "tools" / "build_docs.py")
    shutil.copytree(ROOT / "tools" / "vendor", dest / "tools" / "vendor")  # KaTeX, the Colab badge: served by the site


def _build(base: Path) -> Path:
    proj, site = base / "project", base / "site"
    if (base / "built").exists():  # another xdist worker built it
        return site
    if proj.exists():
        shutil.rmtree(proj)
    proj.mkdir(parents=True)
    _copy_project(proj)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(proj), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.setdefault("OMP_NUM_THREADS", "1")
    r = subprocess.run(
        [sys.executable, "tools/build_docs.py", "--out", str(site), "--n-workers", "2"],
        cwd=proj, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )
    if r.returncode != 0:
        pytest.fail(f"tools/build_docs.py failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}", pytrace=False)
    assert (site / "site_libs").is_dir(), r.stderr[-4000:]
    (base / "built").write_text(r.stderr)
    return site


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    if not notebooks():
        pytest.skip("nbs/ holds no notebook yet")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # share one build between xdist workers
        base = base.parent
        try:
            from filelock import FileLock
        except ImportError:
            return _build(tmp_path_factory.mktemp("docs"))
        with FileLock(str(base / "molap-docs.lock")):
            return _build(base / "molap-docs")
    return _build(base / "molap-docs")


# ---------------------------------------------------------------- reading the pages


class PageParser(HTMLParser):
    "Collect the ids, the links (href/src) and the pictures of a page, and the text of its headings."

    LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src", "area": "href"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.imgs, self.headings = set(), [], [], []
        self._heading = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("name") and tag == "a":
            self.ids.add(a["name"])
        key = self.LINK_ATTRS.get(tag)
        if key and a.get(key) is not None:
            self.links.append((tag, a[key]))
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [a.get("id", ""), ""]

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[1] += data

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((self._heading[0], self._heading[1].strip()))
            self._heading = None


_parsed: dict[Path, PageParser] = {}


def parse(page: Path) -> PageParser:
    if page not in _parsed:
        p = PageParser()
        p.feed(page.read_text(encoding="utf-8"))
        _parsed[page] = p
    return _parsed[page]


def is_local(url: str) -> bool:
    s = urlsplit(url)
    return not (s.scheme or url.startswith("//") or url.startswith(("mailto:", "javascript:", "data:")))


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# ---------------------------------------------------------------- reading the notebooks


def read_nb(nb: Path) -> dict:
    import json

    return json.loads(nb.read_text(encoding="utf-8"))


def src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def directives(code: str) -> dict[str, str]:
    "The `#| key value` / `#| key: value` lines at the top of a cell, as nbdev reads them."
    out = {}
    for line in code.splitlines():
        m = re.match(r"^\s*#\s*\|\s*([\w-]+):?\s*(.*)$", line)
        if not m:
            if line.strip() and not line.strip().startswith("#"):
                break
            continue
        out[m.group(1)] = m.group(2).strip()
    return out


def documented_names(nb: Path) -> list[str]:
    "The names nbdev's `add_show_docs` documents: public functions and classes defined in `#| export(s)` cells."
    from nbdev.showdoc import showdoc_nm

    names = []
    for c in read_nb(nb).get("cells", []):
        if c.get("cell_type") != "code":
            continue
        code = src(c)
        d = directives(code)
        if not ({"export", "exports"} & d.keys()) or "hide" in d or d.get("include") == "false":
            continue
        try:
            tree = ast.parse("\n".join(l for l in code.splitlines() if not l.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        for o in tree.body:
            if isinstance(o, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (o.name[0] != "_" or o.name[:2] == "__"):
                nm = showdoc_nm(o)
                names += nm if isinstance(nm, list) else [nm]
    return names


def figure_count(nb: Path) -> int:
    "Pictures (PNG/JPEG/GIF/SVG outputs) of cells whose output the docs keep."
    n = 0
    for c in read_nb(nb).get("cells", []):
        if c.get("cell_type") != "code":
            continue
        d = directives(src(c))
        tags = set((c.get("metadata") or {}).get("tags") or [])
        if "hide" in d or d.get("include") == "false" or d.get("output") == "false" or d.get("eval") == "false" or {"remove-cell", "remove-output"} & tags:
            continue
        for o in c.get("outputs", []):
            if any(k.startswith("image/") for k in (o.get("data") or {})):
                n += 1
    return n


# ---------------------------------------------------------------- the checks


def test_every_notebook_has_a_page(site):
    missing = [f"{nb.relative_to(NBS)} -> {page_of(nb)}" for nb in notebooks() if not (site / page_of(nb)).is_file()]
    assert not missing, (
        "notebooks without a page (a notebook needs a `# Title` Markdown cell or front matter for nbdev to give it "
        "the output-file its links use):\n  " + "\n  ".join(missing)
    )


def test_home_page(site):
    if not (NBS / "index.ipynb").exists():
        pytest.skip("nbs/index.ipynb (the home page and README) is not written yet")
    assert (site / "index.html").is_file(), "nbs/index.ipynb did not become index.html"


def test_sidebar_lists_every_page(site):
    problems = []
    for nb in notebooks():
        page = site / page_of(nb)
        if not page.is_file():
            continue  # reported by test_every_notebook_has_a_page
        linked = {
            (page.parent / unquote(urlsplit(h).path)).resolve()
            for t, h in parse(page).links if t == "a" and is_local(h) and urlsplit(h).path
        }
        missing = [page_of(o) for o in notebooks() if (site / page_of(o)).resolve() not in linked]
        if missing:
            problems.append(f"{page_of(nb)} has no link to {', '.join(missing)}")
    assert not problems, "the sidebar does not list every page:\n  " + "\n  ".join(problems)


def test_no_broken_internal_links(site):
    broken = []
    for page in html_pages(site):
        for tag, url in parse(page).links:
            if not url or not is_local(url):
                continue
            s = urlsplit(url)
            path = unquote(s.path)
            if path:
                target = (page.parent / path).resolve() if not path.startswith("/") else (site / path.lstrip("/")).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page
            rel = page.relative_to(site)
            if not target.exists():
                broken.append(f"{rel}: <{tag}> {url} (no such file)")
            elif s.fragment and target.suffix == ".html" and unquote(s.fragment) not in parse(target).ids:
                broken.append(f"{rel}: <{tag}> {url} (no #{unquote(s.fragment)} on {target.relative_to(site)})")
    assert not broken, f"{len(broken)} broken internal link(s):\n  " + "\n  ".join(sorted(set(broken)))


def test_images_exist_and_figures_are_shown(site):
    problems = []
    for page in html_pages(site):
        for url in parse(page).imgs:
            if not url:
                problems.append(f"{page.relative_to(site)}: <img> without src")
            elif is_local(url) and not (page.parent / unquote(urlsplit(url).path)).is_file():
                problems.append(f"{page.relative_to(site)}: missing image {url}")
    for nb in notebooks():
        page = site / page_of(nb)
        want = figure_count(nb)
        if want and page.is_file():
            svgs = page.read_text(encoding="utf-8").count("<svg")  # SVG outputs are inlined
            got = len(parse(page).imgs) + svgs
            if got < want:
                problems.append(f"{page_of(nb)}: {want} figure output(s) in {nb.name}, but {got} picture(s) on the page")
    assert not problems, "\n  ".join(["image problems:", *problems])


def test_api_reference_present(site):
    problems = []
    for nb in notebooks():
        names = documented_names(nb)
        page = site / page_of(nb)
        if not names or not page.is_file():
            continue
        heads = parse(page).headings
        texts = {t for _, t in heads} | {i for i, _ in heads}
        missing = [n for n in names if n not in texts and n.lower() not in texts]
        if missing:
            problems.append(f"{page_of(nb)}: no API entry for {', '.join(missing)}")
    assert not problems, "API reference (show_doc) missing:\n  " + "\n  ".join(problems)


def test_title_cell_loses_nothing():
    """nbdev turns the notebook's title cell (`# Title`, `> description`, `- key: value` lines) into front matter and
    drops the whole cell from the page, so anything else written in it (a Colab badge, a paragraph) never shows."""
    from fastcore.nbio import cell_frontmatter, md_frontmatter

    lost = []
    for nb in notebooks():
        fm = {}
        for c in read_nb(nb).get("cells", []):
            s = src(c)
            if c.get("cell_type") == "raw":
                fm.update(cell_frontmatter(s) or {})
            elif c.get("cell_type") == "markdown" and "title" not in fm:
                d = cell_frontmatter(s) or md_frontmatter(s)
                if not d:
                    continue
                fm.update(d)
                if s.lstrip().startswith("---"):
                    break  # a YAML block: all of it is front matter
                used = {"h1": False, "quote": False}
                for line in s.splitlines():
                    if not line.strip():
                        continue
                    if re.match(r"^#\s+\S", line) and not used["h1"]:
                        used["h1"] = True
                    elif re.match(r"^>\s+\S", line) and not used["quote"]:
                        used["quote"] = True
                    elif not re.match(r"^-\s+(\S.*:.*\S)\s*$", line):
                        lost.append(f"{nb.name}: {line.strip()[:100]}")
                break
    assert not lost, (
        "text in a notebook's title cell is dropped from its page by nbdev; move it to a cell of its own below the "
        "title:\n  " + "\n  ".join(lost)
    )


# ---------------------------------------------------------------- offline, folded checks (tools/build_docs.py)


def build_docs_module():
    "tools/build_docs.py, imported as a module (its main() only runs as a script)."
    return load_tool("build_docs")


def test_which_cells_fold_as_checks():
    checks_only = build_docs_module().checks_only
    assert checks_only('test_eq(f(1), 2)\ntest_fail(lambda: f(-1), contains="negative")')
    assert checks_only("x = f(3)\nassert x > 0")  # set-up, then the check
    assert checks_only("for s in (1, 2):\n    test_close(g(s), 1., eps=1e-3)")
    assert checks_only("with ExceptionExpected(ValueError):\n    f(-1)")
    assert checks_only("#| slow: true\ntest_eq(f(1), 2)")
    assert not checks_only("x = f(3)\ny = g(x)\nz = h(y)\nassert z")  # a lesson's code with a check at the end
    assert not checks_only("f(3)")  # no check at all
    assert not checks_only("#| echo: false\ntest_eq(f(1), 2)")  # the cell decides how it shows
    assert not checks_only("#| export\ndef f(x): return x\nassert f(1) == 1")
    assert not checks_only("test_eq(f(1), 2")  # not Python: left alone


def test_which_cells_fold_as_computed_text():
    writes_text = build_docs_module().writes_text
    md = [{"output_type": "execute_result", "data": {"text/markdown": "| a |", "text/plain": "<Markdown>"}}]
    long = "\n".join(f"x{i} = {i}" for i in range(6)) + "\nMarkdown(str(x5))"
    assert writes_text(long, md)
    assert not writes_text("Markdown(table(res))", md)  # short: the code is as readable as a caption
    assert not writes_text(long, [])  # shows nothing
    assert not writes_text(long, md + [{"output_type": "display_data", "data": {"image/png": "..."}}])  # a figure too
    assert not writes_text(long, [{"output_type": "stream", "name": "stdout", "text": "x"}])
    assert not writes_text("#| echo: false\n" + long, md)  # the cell decides how it shows


def test_checks_are_folded(site):
    "Each lesson's cells that only check things (and show nothing) are folded under \"Checks\", and its long cells that write a computed text under \"The code that writes this\"."
    bd = build_docs_module()
    problems = []
    for nb in notebooks():
        page = site / page_of(nb)
        if not page.is_file():
            continue
        want = 0
        for c in read_nb(nb).get("cells", []):
            code = src(c)
            if c.get("cell_type") == "code" and not c.get("outputs") and "hide" not in directives(code) and bd.checks_only(code):
                want += 1
        got = page.read_text(encoding="utf-8").count("<summary>Checks</summary>")
        if got != want:
            problems.append(f"{page_of(nb)}: {want} cell(s) of checks in {nb.name}, {got} folded on the page")
        want = sum(c.get("cell_type") == "code" and "hide" not in directives(src(c)) and bd.writes_text(src(c), c.get("outputs") or [])
                   for c in read_nb(nb).get("cells", []))
        got = page.read_text(encoding="utf-8").count("<summary>The code that writes this</summary>")
        if got != want:
            problems.append(f"{page_of(nb)}: {want} cell(s) writing text in {nb.name}, {got} folded on the page")
    assert not problems, "\n  ".join(["checks not folded as expected:", *problems])


def test_site_needs_no_network(site):
    "Scripts, stylesheets, pictures and CSS imports are served by the site itself: KaTeX, the Colab badge, the theme."
    remote = re.compile(r"^(https?:)?//")
    problems = []
    for page in html_pages(site):
        for tag, url in parse(page).links:
            if tag in ("script", "link", "img", "source", "iframe") and remote.match(url or ""):
                problems.append(f"{page.relative_to(site)}: <{tag}> {url}")
    for css in (site / "site_libs").rglob("*.css"):
        for m in re.finditer(r"@import\s+url\(\s*[\"']?((?:https?:)?//[^)\"']+)", css.read_text(encoding="utf-8")):
            problems.append(f"{css.relative_to(site)}: @import {m.group(1)}")
    assert not problems, "\n  ".join(["the site fetches from the network (it must render offline):", *problems])
    maths = [p for p in html_pages(site) if 'class="math' in p.read_text(encoding="utf-8")]
    if maths:
        assert (site / "site_libs" / "katex" / "katex.min.js").is_file(), "pages have maths, but KaTeX is not in site_libs/katex"
    if any("colab.research.google.com" in p.read_text(encoding="utf-8") for p in html_pages(site)):
        assert (site / "site_libs" / "colab-badge.svg").is_file(), "pages have Colab badges, but site_libs/colab-badge.svg is missing"
