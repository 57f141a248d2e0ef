"""The house rules, checked: the pipeline order of the modules, light notebooks, lessons with prose."""
import ast, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))


def notebook_of(module: Path) -> str:
    "The notebook a module of molap/ is exported from (nbdev's header names it)."
    m = re.search(r"File to edit: \.\./nbs/(\S+)\.ipynb", module.read_text())
    assert m, f"{module.name} has no nbdev header"
    return m.group(1)


ORDER = sorted(p.stem for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))


def number(nb: str) -> int:
    "A notebook's place in the pipeline: nbdev's (and the sidebar's) order of the file names."
    return ORDER.index(nb)


def test_modules_import_only_from_lower_notebooks():
    "No module imports from a later notebook's module (no loop, no arrow backwards), also inside functions."
    mods = {p.stem: p for p in (ROOT / "molap").glob("*.py") if p.stem not in ("__init__", "_modidx")}
    order = {name: number(notebook_of(p)) for name, p in mods.items()}
    bad = []
    for name, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module.split(".")
                if node.level == 1: targets = [mod[0]]
                elif mod[0] == "molap" and len(mod) > 1: targets = [mod[1]]
            elif isinstance(node, ast.Import):
                targets = [a.name.split(".")[1] for a in node.names if a.name.startswith("molap.")]
            for t in targets:
                if t in order and t != name and order[t] >= order[name]:
                    bad.append(f"{name} ({order[name]:02d}) imports {t} ({order[t]:02d})")
    assert not bad, bad


def test_notebooks_import_only_from_lower_notebooks():
    "A notebook uses only what earlier notebooks built: its cells import molap modules of lower numbers."
    mods = {p.stem: number(notebook_of(p)) for p in (ROOT / "molap").glob("*.py") if p.stem not in ("__init__", "_modidx")}
    bad = []
    for nb in NBS:
        n = number(nb.stem)
        src = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        for t in re.findall(r"(?:from|import) molap\.(\w+)", src):
            if t in mods and mods[t] > n: bad.append(f"{nb.stem} imports molap.{t} ({mods[t]:02d})")
    assert not bad, bad


def test_no_module_shadows_the_package():
    assert not (ROOT / "molap" / "molap.py").exists()


@pytest.mark.parametrize("nb", NBS + [ROOT / "nbs" / "index.ipynb"], ids=lambda p: p.stem)
def test_notebook_is_light(nb):
    "Every notebook stays under 1 MB with its outputs, so the repository, the site and Colab stay light."
    assert nb.stat().st_size < 1_000_000, f"{nb.name} is {nb.stat().st_size / 1e6:.2f} MB"


@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.stem)
def test_lesson_has_prose(nb):
    "Lessons explain as much as they compute: at least 0.6 Markdown cells per code cell."
    cells = json.loads(nb.read_text())["cells"]
    md = sum(c["cell_type"] == "markdown" for c in cells)
    code = sum(c["cell_type"] == "code" for c in cells)
    assert md / code >= 0.6, f"{nb.name}: {md} Markdown cells for {code} code cells ({md / code:.2f})"


def test_no_environment_branches_in_notebooks():
    "Long cells are marked `#| slow`, not switched on an environment variable."
    for nb in NBS:
        src = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
        assert "IN_TEST" not in src, nb.name


@pytest.mark.parametrize("nb", NBS + [ROOT / "nbs" / "index.ipynb"], ids=lambda p: p.stem)
def test_colab_install_cell(nb):
    """Every notebook has one hidden, never-run install cell, and it installs from the repository (the package is not on
    PyPI): the same route everywhere, with the extras the lesson needs."""
    import tomllib
    repo = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code" and "%pip install" in "".join(c["source"])]
    assert len(cells) == 1, f"{nb.name}: {len(cells)} install cells"
    src = "".join(cells[0]["source"])
    assert "#| eval: false" in src and "#| hide" in src, f"{nb.name}: the install cell must be `#| eval: false` and `#| hide`"
    pip = [l for l in src.splitlines() if "%pip install" in l]
    assert re.fullmatch(rf'%pip install -q "molap(\[[a-z,]+\])? @ git\+{re.escape(repo)}"', pip[0].strip()), \
        f"{nb.name}: {pip[0]!r} does not install molap from {repo}"


def test_sidebar_lists_every_notebook_once():
    "nbs/sidebar.yml (written by hand: custom_sidebar) names every notebook exactly once, and only notebooks that exist."
    import yaml
    names = []
    def walk(items):
        for it in items:
            if isinstance(it, str): names.append(it)
            elif isinstance(it, dict): walk(it.get("contents", []))
    walk(yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())["website"]["sidebar"]["contents"])
    have = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb"))
    assert sorted(names) == have, f"sidebar: {sorted(set(have) - set(names))} missing, {sorted(set(names) - set(have))} unknown, or listed twice"
