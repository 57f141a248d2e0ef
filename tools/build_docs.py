#!/usr/bin/env python
"""Build the documentation site offline, without Quarto.

    python tools/build_docs.py [--out _site] [--readme] [--force] [--strict] [--katex DIST|cdn] [--no-fold-checks]

Run it from the repository root (it moves there itself). The steps:

1. nbdev's config file `nbs/nbdev.yml` (`nbdev.quarto.refresh_quarto_yml`; gitignored, made at each build). The
   sidebar, `nbs/sidebar.yml`, is written by hand in sections (`custom_sidebar = true` in pyproject.toml, so
   `nbdev.quarto.nbdev_sidebar` leaves it alone).
2. nbdev's pre-processing (`nbdev.serve.proc_nbs`, as `nbdev-proc-nbs` and `nbdev-docs` run it) stages the notebooks
   into `_proc/`: `show_doc` cells added after exported definitions and run, hidden cells dropped, front matter added.
   It spawns worker processes, hence the `__main__` guard at the bottom of this file.
3. `_proc/` is copied to a scratch folder, where each page is renamed to the name nbdev's links use (the
   `output-file` of its front matter: `00_tasks.ipynb` -> `tasks.ipynb`, as `nbdev.config.nbpath2html` does), and
   links to the old names (in Markdown cells, Markdown/HTML outputs, `sidebar.yml`, `_quarto.yml`) are rewritten.
   Code cells that only check things (`test_eq(...)`, `test_fail(...)`, `test_close(...)`, `assert ...` and the set-up
   they need, at least a third of their lines checks, and no output: see `checks_only`) get
   Quarto's `#| code-fold: true` and `#| code-summary: "Checks"`, so that a lesson reads as a lesson and its checks
   open with a click; so do the long cells whose only output is Markdown they compute from the results (tables,
   verdicts: see `writes_text`), under "The code that writes this" (`--no-fold-checks` leaves all open; a cell that
   sets `code-fold` itself is left alone).
4. smalldocs renders that folder into `--out` (default `_site`), and the pictures that smalldocs inlines as data
   URIs are written out as files under `<page>_files/figure-html/`, as Quarto lays them out.
5. The site is made to render offline, with nothing fetched from the network:
   - maths: smalldocs links KaTeX from a CDN; the build copies KaTeX into `site_libs/katex/` and points the pages
     there. By default the copy vendored in `tools/vendor/katex/` (KaTeX 0.16.47; see its README to refresh it);
     `--katex DIST` takes another KaTeX `dist` folder (from `npm pack katex`), `--katex cdn` keeps the CDN links.
     `tools/vendor/fit-maths.js` goes with it: a display equation slightly wider than the column is shrunk to fit.
   - the "Open In Colab" badges: the picture Colab hosts is replaced by `site_libs/colab-badge.svg`
     (`tools/vendor/colab-badge.svg`); the badges still link to Colab.
   - the theme's Google Fonts `@import` (which blocks the first paint until it fails offline) is removed: the
     pages use the theme's fallback fonts, the same offline and online.
6. With `--readme`, `README.md` is written at the repository root from the processed `index.ipynb` with
   nbconvert's Markdown exporter.

Wide content is handled by `nbs/styles.css`, which Quarto uses too: code, signatures and text outputs wrap at the
edge of their box; tables and display maths too wide for the column scroll inside their own box. `tests/test_site_browser.py` renders the built pages
in headless Chromium and fails on raw TeX, on anything cut off or overflowing the page and on broken pictures;
`tools/screenshot_docs.sh` screenshots the pages to check them by eye.

Quarto, where it can be installed (CI), remains the publishing path: `nbdev-docs` (see .github/workflows/deploy.yml).
"""

import argparse
import base64
import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

KATEX_VERSION = "0.16.47"  # the copy in tools/vendor/katex
VENDOR = Path(__file__).resolve().parent / "vendor"

PAGE_EXTS = (".ipynb", ".qmd", ".md")
# smalldocs warnings about Quarto options that only matter to Quarto (or to nbdev's Quarto render), not to this site
QUIET_WARNINGS = (
    "unknown key format-links",  # nbdev.yml: links to the commonmark copy Quarto writes
    "format commonmark is not built",  # _quarto.yml: Quarto writes a .md copy of each page
    "format.html.keep-md is ignored",
    "output-file is not read by smalldocs",  # removed by the staging step; kept here for safety
)


class DocsError(Exception):
    "A step of the build failed; the message says which and why."


def say(msg: str) -> None:
    print(f"[build_docs] {msg}", file=sys.stderr, flush=True)


def repo_root() -> Path:
    "The repository root: the folder above `tools/`, which holds pyproject.toml."
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").exists():
        raise DocsError(f"{root} has no pyproject.toml: run this script from the project's tools/ folder")
    return root


# ---------------------------------------------------------------- step 1-2: nbdev


def nbdev_stage(n_workers: int, force: bool) -> tuple[Path, object]:
    "Write nbdev.yml and sidebar.yml, then run nbdev's notebook processing into `_proc/`. Returns (the _proc folder, the config)."
    from nbdev.config import get_config
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    from nbdev.serve import proc_nbs

    cfg = get_config()
    nbs = cfg.nbs_path
    if not nbs.is_dir():
        raise DocsError(f"notebook folder {nbs} does not exist")
    if not any(nbs.rglob("*.ipynb")):
        raise DocsError(f"no notebooks in {nbs}: nothing to document")
    refresh_quarto_yml()  # nbs/nbdev.yml (title, site-url, repo-url from pyproject.toml); keeps our _quarto.yml
    nbdev_sidebar.__wrapped__(path=str(nbs))  # nbs/sidebar.yml, unless custom_sidebar (ours is: written by hand)
    # nbdev-docs also rebuilds the package's _modidx.py here (nbdev.doclinks._build_modidx); that file belongs to
    # nbdev-export, so we leave it alone.
    t = time.time()
    try:
        cache = proc_nbs(str(nbs), n_workers=n_workers, force=force)
    except Exception as e:  # a show_doc cell or an import cell failed inside a worker
        raise DocsError(f"nbdev's notebook processing (proc_nbs) failed: {type(e).__name__}: {e}") from e
    say(f"nbdev processed the notebooks into {os.path.relpath(cache)} in {time.time() - t:.1f}s")
    return Path(cache), cfg


# ---------------------------------------------------------------- step 3: staging for smalldocs


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def cell_text(cell_or_value) -> str:
    v = cell_or_value
    return "".join(v) if isinstance(v, list) else (v or "")


FRONT = re.compile(r"\A\s*---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def front_matter(nb: dict) -> tuple[dict, int | None]:
    "The front matter that nbdev's processing puts in the notebook's first cell (a raw cell), and that cell's index."
    import yaml

    cells = nb.get("cells") or []
    if cells and cells[0].get("cell_type") == "raw":
        m = FRONT.match(cell_text(cells[0].get("source")))
        if m:
            fm = yaml.safe_load(m.group(1))
            return (fm if isinstance(fm, dict) else {}), 0
    return {}, None


def target_name(src: PurePosixPath, stage: Path) -> PurePosixPath:
    """The staged name of a page, as Quarto names its output: a notebook's `output-file` (front matter that nbdev
    adds, with the numeric prefix stripped as `nbdev.config.nbpath2html` does); otherwise the source's own name."""
    if src.suffix != ".ipynb":
        return src
    fm, _ = front_matter(read_nb(stage / src))
    out = fm.get("output-file")
    if not out:
        from nbdev.config import nbpath2html

        want = nbpath2html(Path(str(src))).name
        if want != src.with_suffix(".html").name:
            say(f"warning: {src} has no title (no `# Title` cell or front matter), so nbdev gives it no output-file: "
                f"Quarto publishes it as {src.with_suffix('.html').name}, while nbdev's links point at {want}")
        return src
    return src.parent / (PurePosixPath(str(out)).stem + src.suffix)


def rewrite_links(text: str, page: PurePosixPath, mapping: dict[PurePosixPath, PurePosixPath], site_url: str = "") -> str:
    """Point Markdown links and HTML href/src attributes at renamed pages to their new names, and links into the
    hosted docs (`site_url`, which nbdev's symbol links use once the package is installed) at the local pages."""

    def fix(url: str) -> str:
        if site_url and url.startswith(site_url + "/"):
            url = "/" + url[len(site_url) + 1 :]
            local = True
        else:
            local = False
        m = re.match(r"([^#?]*)(.*)", url, re.S)
        path, tail = m.group(1), m.group(2)
        if not path or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", path):
            return url
        joined = PurePosixPath(posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(str(page.parent), path)))
        for cand in (joined, joined.with_suffix(".ipynb") if joined.suffix == ".html" else None):
            if cand is not None and cand in mapping:
                new = mapping[cand]
                if joined.suffix == ".html":
                    new = new.with_suffix(".html")
                newpath = "/" + str(new) if path.startswith("/") and not local else posixpath.relpath(str(new), str(page.parent) or ".")
                return newpath + tail
        if local:  # a page of this site that was not renamed
            return posixpath.relpath(str(joined), str(page.parent) or ".") + tail
        return url

    text = re.sub(r"(\]\()(<?)([^)\s>]+)", lambda m: m.group(1) + m.group(2) + fix(m.group(3)), text)
    text = re.sub(r"""((?:href|src)=)(["'])([^"']+)\2""", lambda m: m.group(1) + m.group(2) + fix(m.group(3)) + m.group(2), text)
    text = re.sub(r"(?m)^(\[[^\]]+\]:\s*)(\S+)", lambda m: m.group(1) + fix(m.group(2)), text)  # reference links
    return text


def rewrite_yaml_paths(obj, mapping: dict[PurePosixPath, PurePosixPath]):
    "Replace every string in a YAML tree that names a renamed page (sidebar `contents`, navbar `href`)."
    if isinstance(obj, dict):
        return {k: rewrite_yaml_paths(v, mapping) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rewrite_yaml_paths(v, mapping) for v in obj]
    if isinstance(obj, str):
        path, sep, anchor = obj.partition("#")
        p = PurePosixPath(path.lstrip("/")) if path else None
        if p in mapping:
            return ("/" if path.startswith("/") else "") + str(mapping[p]) + sep + anchor
    return obj


def icon_only_to_tools(cfg: dict) -> dict:
    "Move icon-only navbar links (the GitHub icon) to `navbar.tools`: smalldocs writes the URL as their text, Quarto the icon alone."
    nb = (cfg.get("website") or {}).get("navbar")
    if not isinstance(nb, dict):
        return cfg
    for side in ("left", "right"):
        items = nb.get(side)
        if not isinstance(items, list):
            continue
        keep = []
        for it in items:
            if isinstance(it, dict) and it.get("icon") and (it.get("href") or it.get("url")) and not it.get("text") and "menu" not in it:
                nb.setdefault("tools", []).append({**it, "aria-label": it.get("aria-label") or it["icon"]})
            else:
                keep.append(it)
        nb[side] = keep
    return cfg


# fastcore.test's checks, and the context managers that only expect something
CHECK_CALLS = re.compile(r"^(test(_\w+)?|ExceptionExpected|assert\w*)$")
CHECK_SHARE = 1 / 3  # a cell is folded when at least this share of its code lines are checks (the rest: their set-up)
# a cell that sets one of these decides how it shows itself; an exported cell is the package's code
KEEP_OPTIONS = ("code-fold", "echo", "include", "output", "export", "exports", "exporti")


def check_leaves(node) -> list[tuple[int, bool]]:
    """The simple statements of a statement, as (lines, whether it checks): compound statements (`for`, `with`, `if`,
    `try`) are looked into; `assert`, a call to `test_eq`/`test_fail`/... and `with ExceptionExpected(...)` check."""
    import ast

    span = node.end_lineno - node.lineno + 1

    def checking_call(e) -> bool:
        if not isinstance(e, ast.Call):
            return False
        f = e.func
        return bool(CHECK_CALLS.match(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""))

    if isinstance(node, ast.Assert) or (isinstance(node, ast.Expr) and checking_call(node.value)):
        return [(span, True)]
    if isinstance(node, ast.With) and all(checking_call(i.context_expr) for i in node.items):
        return [(span, True)]  # `with ExceptionExpected(...)`: the body is what is expected to fail
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)):
        kids = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
        kids += [s for h in getattr(node, "handlers", []) for s in h.body]
        return [leaf for k in kids for leaf in check_leaves(k)]
    return [(span, False)]  # assignments, definitions, other calls: setting up


def decides_own_display(source: str) -> bool:
    "Whether a cell sets one of `KEEP_OPTIONS` itself (how it shows, or that it is the package's code): left alone."
    return any(re.match(rf"^\s*#\s*\|\s*({'|'.join(KEEP_OPTIONS)})\b", l) for l in source.splitlines())


def checks_only(source: str) -> bool:
    """Whether a code cell only checks things: it has checking statements (see `check_leaves`), and they make at
    least `CHECK_SHARE` of its code lines (the rest set them up). Cells with `#|` options that decide how they show
    (`KEEP_OPTIONS`) are left alone."""
    import ast

    lines = source.splitlines()
    if decides_own_display(source):
        return False
    code = "\n".join("" if re.match(r"^\s*[%!]", l) else l for l in lines)  # magics: blank, so that line numbers hold
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    leaves = [leaf for n in body for leaf in check_leaves(n)]
    if not any(ok for _, ok in leaves):
        return False
    return sum(n for n, ok in leaves if ok) >= CHECK_SHARE * sum(n for n, _ in leaves)


TEXT_LINES = 6  # a cell this long whose only output is Markdown is the code that writes a computed text: folded


def writes_text(source: str, outputs: list) -> bool:
    """Whether a code cell writes Markdown computed from the results (a table, a verdict) and is long enough
    (`TEXT_LINES`) that its code would push the text it writes off the screen. Cells with `KEEP_OPTIONS` are left alone."""
    if decides_own_display(source):
        return False
    lines = [l for l in source.splitlines() if l.strip() and not re.match(r"^\s*#", l)]
    shown = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    return (len(lines) >= TEXT_LINES and bool(shown) and len(shown) == len(outputs)
            and all(set(o.get("data", {})) <= {"text/markdown", "text/plain"} and "text/markdown" in o["data"] for o in shown))


def fold(c: dict, summary: str):
    "Add Quarto's `code-fold` with `summary` to a code cell, after its own options (Quarto reads them as one block)."
    lines = cell_text(c.get("source")).splitlines(keepends=True)
    k = 0
    while k < len(lines) and re.match(r"^\s*#\s*\|", lines[k]):
        k += 1
    c["source"] = "".join(lines[:k]) + f'#| code-fold: true\n#| code-summary: "{summary}"\n' + "".join(lines[k:])


def fold_checks(nb: dict) -> int:
    """Fold the code of the cells that only check things and show nothing (summary "Checks") and of the long cells that
    write a computed text (summary "The code that writes this"). Returns how many."""
    n = 0
    for c in nb.get("cells", []):
        if c.get("cell_type") != "code":
            continue
        src = cell_text(c.get("source"))
        if not c.get("outputs") and checks_only(src):  # a cell that shows something keeps its code in view
            fold(c, "Checks"); n += 1
        elif writes_text(src, c.get("outputs") or []):  # the text it writes is the point; its code opens with a click
            fold(c, "The code that writes this"); n += 1
    return n


def stage_for_smalldocs(cache: Path, stage: Path, site_url: str = "", fold: bool = True) -> dict[PurePosixPath, PurePosixPath]:
    "Copy `_proc` to `stage`, rename the pages to nbdev's names and fix the links. Returns {old: new} for the pages."
    import yaml

    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(cache, stage, ignore=shutil.ignore_patterns(".*", "_docs", "_site"))
    pages = sorted(
        PurePosixPath(p.relative_to(stage).as_posix())
        for p in stage.rglob("*")
        if p.suffix in PAGE_EXTS and p.is_file() and not any(x.startswith(("_", ".")) for x in p.relative_to(stage).parts)
    )
    mapping = {}
    for src in pages:
        new = target_name(src, stage)
        if new != src:
            if (stage / new).exists() or new in mapping.values():
                raise DocsError(f"two pages would both be named {new}: {src} and another; rename one notebook")
            mapping[src] = new
    for src, new in mapping.items():
        (stage / src).rename(stage / new)
    final = {mapping.get(p, p): p for p in pages}  # staged page -> its original name
    folded = 0

    for page in final:
        f = stage / page
        if page.suffix == ".ipynb":
            nb = read_nb(f)
            fm, idx = front_matter(nb)
            if fold:
                folded += fold_checks(nb)
            if idx is not None and "output-file" in fm:  # smalldocs does not read it; the file name now says it
                fm.pop("output-file")
                nb["cells"][idx]["source"] = "---\n" + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True) + "---\n"
            for c in nb.get("cells", []):
                if c.get("cell_type") == "markdown":
                    c["source"] = rewrite_links(cell_text(c.get("source")), page, mapping, site_url)
                for o in c.get("outputs", []) or []:
                    for mime in ("text/markdown", "text/html"):
                        if mime in (o.get("data") or {}):
                            o["data"][mime] = rewrite_links(cell_text(o["data"][mime]), page, mapping, site_url)
            f.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
        else:
            f.write_text(rewrite_links(f.read_text(encoding="utf-8"), page, mapping, site_url), encoding="utf-8")

    for name in ("sidebar.yml", "_quarto.yml"):
        f = stage / name
        if f.exists():
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            new = rewrite_yaml_paths(data, mapping)
            if name == "_quarto.yml":
                new = icon_only_to_tools(new)
            if new != data:
                f.write_text(yaml.safe_dump(new, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if not (stage / "sidebar.yml").exists():
        raise DocsError("there is no nbs/sidebar.yml (nbdev_sidebar makes it unless custom_sidebar = true), so the site would have no sidebar")
    if fold:
        say(f"folded {folded} cell(s) that only check things (summary \"Checks\")")
    return mapping


# ---------------------------------------------------------------- step 4: smalldocs


DATA_IMG = re.compile(r'src="data:image/(png|jpeg|gif);base64,([A-Za-z0-9+/=\s]+)"')


def extract_images(out: Path) -> int:
    "Write each picture that smalldocs inlined (a notebook output, as a data URI) to a file beside its page."
    n = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "data:image/" not in text:
            continue
        files = page.parent / f"{page.stem}_files" / "figure-html"
        count = 0

        def save(m):
            nonlocal count, n
            ext = {"jpeg": "jpg"}.get(m.group(1), m.group(1))
            data = base64.b64decode(re.sub(r"\s", "", m.group(2)))
            count += 1
            name = f"output-{count}-{hashlib.sha1(data).hexdigest()[:8]}.{ext}"
            files.mkdir(parents=True, exist_ok=True)
            (files / name).write_bytes(data)
            n += 1
            return f'src="{page.stem}_files/figure-html/{name}"'

        page.write_text(DATA_IMG.sub(save, text), encoding="utf-8")
    return n


KATEX_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/katex@[^/\"']+/dist")
COLAB_BADGE = re.compile(r"https://colab\.research\.google\.com/assets/colab-badge\.svg")
FONT_IMPORT = re.compile(r"@import\s+url\(\s*[\"']?https?://fonts\.googleapis\.com/[^)]*\)\s*;?")


def site_rel(out: Path, page: Path, target: str) -> str:
    "The relative URL from `page` to `target` (a path inside the site `out`)."
    return posixpath.relpath((out / target).as_posix(), page.parent.as_posix())


def vendor_katex(out: Path, katex_dist: Path) -> int:
    """Copy KaTeX (its `dist` folder, or the subset vendored in tools/vendor/katex) into `site_libs/katex` and point
    the pages at it instead of the CDN, so that maths renders offline; add `tools/vendor/fit-maths.js`, which shrinks
    a display equation slightly wider than the column to fit it. Returns the number of pages with maths."""
    if not (katex_dist / "katex.min.js").is_file() or not (katex_dist / "contrib" / "auto-render.min.js").is_file():
        raise DocsError(f"--katex {katex_dist}: not a KaTeX dist folder (no katex.min.js and contrib/auto-render.min.js)")
    dest = out / "site_libs" / "katex"
    shutil.copytree(katex_dist, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md", "*.mjs", "package.json"))
    shutil.copy2(VENDOR / "fit-maths.js", dest / "fit-maths.js")
    n = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if KATEX_CDN.search(text):
            text = KATEX_CDN.sub(site_rel(out, page, "site_libs/katex"), text)
            # after smalldocs.js, which typesets the maths (deferred scripts run in document order)
            fit = f'<script src="{site_rel(out, page, "site_libs/katex/fit-maths.js")}" defer></script>'
            text = text.replace("</head>", fit + "\n</head>", 1)
            page.write_text(text, encoding="utf-8")
            n += 1
        if re.search(r"""(?:src|href)=["']?(?:https?:)?//[^"'>]*katex""", text):
            raise DocsError(f"{page.relative_to(out)} loads KaTeX from an address KATEX_CDN does not match: update it in {__file__}")
    return n


def serve_colab_badge(out: Path, badge: Path) -> int:
    "Serve the \"Open In Colab\" badge picture from the site (`site_libs/colab-badge.svg`). Returns the number of pages changed."
    if not badge.is_file():
        raise DocsError(f"the Colab badge {badge} is missing")
    shutil.copy2(badge, out / "site_libs" / "colab-badge.svg")
    n = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if COLAB_BADGE.search(text):
            page.write_text(COLAB_BADGE.sub(site_rel(out, page, "site_libs/colab-badge.svg"), text), encoding="utf-8")
            n += 1
    return n


def drop_font_imports(out: Path) -> int:
    "Remove the theme's Google Fonts `@import`: offline it holds the first paint until it fails. Returns the files changed."
    n = 0
    for css in (out / "site_libs").rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        new = FONT_IMPORT.sub("", text)
        if new != text:
            css.write_text(new, encoding="utf-8")
            n += 1
    return n


def render(stage: Path, out: Path, strict: bool, verbose: bool) -> None:
    "Render the staged folder with smalldocs into `out`."
    from smalldocs.config import BuildError, ConfigError, load
    from smalldocs.site import Site

    try:
        proj = load(stage)
        proj.config.setdefault("project", {})["output-dir"] = str(out)  # instead of nbdev.yml's _docs
        site = Site(proj, quiet=not verbose)
        n = site.build()
    except (ConfigError, BuildError) as e:
        raise DocsError(f"smalldocs could not render the site: {e}") from e
    shown = [w for w in site.warnings if verbose or not any(q in w for q in QUIET_WARNINGS)]
    for w in shown:
        say(f"smalldocs warning: {w}")
    say(f"smalldocs wrote {n} page(s) to {out}")
    if not (out / "index.html").exists():
        say("warning: the site has no index.html (no nbs/index.ipynb): its home link and GitHub Pages' root are broken")
    broken = [f"{src}: {href}" for src, href in site.broken]
    if broken and strict:
        raise DocsError("broken links:\n  " + "\n  ".join(broken))


# ---------------------------------------------------------------- step 5: README


def github_raw_base(cfg) -> str | None:
    "Where GitHub serves the repository's files, for README pictures that render on GitHub and on PyPI."
    url = str(cfg.get("git_url") or "")
    m = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    if not m:
        return None
    return f"https://raw.githubusercontent.com/{m.group(1)}/{m.group(2)}/{cfg.get('branch') or 'main'}"


def docs_url(cfg) -> str:
    "The hosted docs' address, `doc_host` + `doc_baseurl`, without a trailing slash; empty when not configured."
    host = str(cfg.get("doc_host") or "").rstrip("/")
    return host + str(cfg.get("doc_baseurl") or "").rstrip("/") if host else ""


def write_readme(cache: Path, cfg, root: Path) -> Path:
    "Write README.md from the processed index notebook, with nbconvert's Markdown exporter."
    import nbformat
    from nbconvert import MarkdownExporter

    src = cache / cfg.readme_nb
    if not src.exists():
        raise DocsError(f"{src} was not made: is there an nbs/{cfg.readme_nb}?")
    nb = nbformat.reads(src.read_text(encoding="utf-8"), as_version=4)
    fm, idx = front_matter(json.loads(src.read_text(encoding="utf-8")))
    if idx is not None:
        del nb.cells[idx]
    for c in nb.cells:  # execution timings etc.: not valid nbformat (execnb writes floats), and of no use in a README
        c.metadata = {k: v for k, v in c.metadata.items() if k in ("tags",)}
        if c.cell_type != "code":
            continue
        # Quarto's cell options, as `nbdev-readme` honours them: echo/output/include false; then drop the `#|` lines
        lines = c.source.splitlines()
        opts = {}
        while lines and re.match(r"^\s*#\s*\|", lines[0]):
            m = re.match(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$", lines.pop(0))
            if m:
                opts[m.group(1)] = m.group(2).lower()
        c.source = "\n".join(lines)
        tags = set(c.metadata.get("tags", []))
        if opts.get("include") == "false":
            tags.add("remove_cell")
        if opts.get("echo") == "false" or not c.source.strip():
            tags.add("remove_input")
        if opts.get("output") == "false":
            tags.add("remove_output")
        c.metadata["tags"] = sorted(tags)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    if "name" not in nb.metadata.get("language_info", {}):  # nbconvert names the code fences' language from it
        lang = nb.metadata.get("kernelspec", {}).get("language") or "python"
        nb.metadata["language_info"] = {**nb.metadata.get("language_info", {}), "name": lang}
    head = [f"# {fm['title']}"] if fm.get("title") else []
    head += [f"> {fm['description']}"] if fm.get("description") else []
    from traitlets.config import Config

    exporter = MarkdownExporter(config=Config({"TagRemovePreprocessor": {
        "enabled": True, "remove_cell_tags": ["remove_cell"], "remove_input_tags": ["remove_input"],
        "remove_all_outputs_tags": ["remove_output"]}}))
    body, resources = exporter.from_notebook_node(nb, resources={"output_files_dir": "images/readme"})
    outputs = resources.get("outputs") or {}
    old = root / "images" / "readme"
    if old.is_dir():  # this script owns the folder: drop the pictures of an earlier index
        for f in old.glob("output_*"):
            f.unlink()
    if outputs:  # pictures: files under images/readme/, linked by absolute URL so that PyPI shows them too
        base = github_raw_base(cfg)
        for name, data in outputs.items():
            dest = root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            if base:
                body = body.replace(f"]({name})", f"]({base}/{name})")
        say(f"README: {len(outputs)} picture(s) written under images/readme/" + (f", linked from {base}" if base else ""))
    # links to other pages: to the hosted docs, since the notebooks' relative links mean nothing in a README
    site = docs_url(cfg)
    if site:
        from nbdev.config import nbpath2html

        def fix(m):
            url = m.group(2)
            p, _, anchor = url.partition("#")
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//|^images/", url) or not p.endswith((".ipynb", ".qmd", ".md", ".html")):
                return m.group(0)
            html = nbpath2html(Path(p)).as_posix()
            return f"{m.group(1)}{site}/{html}{'#' + anchor if anchor else ''})"

        body = re.sub(r"(\]\()([^)\s]+)\)", fix, body)
    body = re.sub(r"(\]\([^)\s]+\))\{[^}\n]*\}", r"\1", body)  # Pandoc link attributes ({target="_blank"}): GitHub shows them as text
    text = "\n\n".join(head + [body.strip()]) + "\n"
    text = re.sub(r"(?m)^[ \t]+$", "", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    readme = root / "README.md"
    readme.write_text(text, encoding="utf-8")
    say(f"wrote {readme}")
    return readme


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Build the docs site offline: nbdev's notebook processing, then smalldocs.")
    p.add_argument("--out", default="_site", help="the folder to write the site into (default _site); emptied first")
    p.add_argument("--readme", action="store_true", help="also write README.md from nbs/index.ipynb")
    p.add_argument("--force", action="store_true", help="reprocess every notebook, ignoring nbdev's _proc cache")
    p.add_argument("--strict", action="store_true", help="fail on broken links that smalldocs finds")
    p.add_argument("--keep-stage", metavar="DIR", help="stage the renamed pages in DIR and keep them (default: a temporary folder)")
    p.add_argument("--inline-images", action="store_true", help="leave notebook pictures as data URIs in the pages")
    p.add_argument("--katex", metavar="DIST|cdn", default=str(VENDOR / "katex"),
                   help=f"the KaTeX the site serves its maths with: a KaTeX dist folder (default: tools/vendor/katex, KaTeX {KATEX_VERSION}), "
                   "or `cdn` to leave smalldocs' links to the jsDelivr CDN (the maths then needs the network)")
    p.add_argument("--no-fold-checks", dest="fold_checks", action="store_false",
                   help="do not fold the code cells that only check things (test_eq, test_fail, assert, ...)")
    p.add_argument("--n-workers", type=int, default=min(os.cpu_count() or 1, 4), help="nbdev processing workers")
    p.add_argument("--verbose", "-v", action="store_true", help="print every smalldocs message and warning")
    args = p.parse_args(argv)

    cwd = Path.cwd()
    out = (cwd / args.out).resolve()
    try:
        root = repo_root()
        os.chdir(root)  # nbdev reads pyproject.toml from the working folder, and its workers import the package from it
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
        if out == root or out in root.parents:
            raise DocsError(f"--out {out} would hold the repository; give a folder inside or beside it")
        cache, cfg = nbdev_stage(args.n_workers, args.force)
        with tempfile.TemporaryDirectory(prefix="molap-docs-") as tmp:
            stage = (cwd / args.keep_stage).resolve() if args.keep_stage else Path(tmp) / "site-src"
            mapping = stage_for_smalldocs(cache, stage, docs_url(cfg), fold=args.fold_checks)
            if mapping:
                say("renamed: " + ", ".join(f"{a} -> {b}" for a, b in mapping.items()))
            render(stage, out, args.strict, args.verbose)
        if not args.inline_images:
            n = extract_images(out)
            if n:
                say(f"wrote {n} notebook picture(s) as files")
        if args.katex != "cdn":
            n = vendor_katex(out, (cwd / args.katex).resolve())
            say(f"KaTeX served from site_libs/katex on {n} page(s) with maths")
        n = serve_colab_badge(out, VENDOR / "colab-badge.svg")
        if n:
            say(f"Colab badge served from site_libs/colab-badge.svg on {n} page(s)")
        drop_font_imports(out)
        (out / ".nojekyll").touch()  # GitHub Pages: serve site_libs/ and *_files/ as they are
        if args.readme:
            try:
                write_readme(cache, cfg, root)
            except DocsError:
                raise
            except Exception as e:
                raise DocsError(f"README.md could not be written from {cfg.readme_nb}: {type(e).__name__}: {e}") from e
    except DocsError as e:
        print(f"build_docs: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug here or in a library: show where, then say it plainly
        import traceback

        traceback.print_exc()
        print(f"build_docs: error: unexpected {type(e).__name__}: {e} (see the traceback above)", file=sys.stderr)
        return 1
    home = out / "index.html" if (out / "index.html").exists() else next(iter(sorted(out.glob("*.html"))), out)
    say(f"done: open {home}")
    return 0


if __name__ == "__main__":  # required: nbdev's proc_nbs spawns worker processes that re-import this module
    sys.exit(main())
