"""pyproject.toml and environment.yml list the same dependencies; the layout is as promised."""
import re
import tomllib

import yaml

from kit.core import paths


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((paths.PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r): r for r in py["dependencies"] + py["optional-dependencies"]["test"]}
    env = yaml.safe_load((paths.PROJ_ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_block, "environment.yml must install the kit itself with `-e .`"
    have = {_name(r): r for r in pip_block if r != "-e ."}
    assert set(have) == set(wanted), (
        f"only in pyproject: {sorted(set(wanted) - set(have))}; "
        f"only in environment.yml: {sorted(set(have) - set(wanted))}")
    for name, req in wanted.items():
        assert have[name].replace(" ", "") == req.replace(" ", ""), f"{name}: version spec differs"


def test_layout():
    for d in ("notebooks", "kit", "data", "reports", "tests", "configs"):
        assert (paths.PROJ_ROOT / d).is_dir(), d
    for f in ("environment.yml", "pyproject.toml", "Makefile", "README.md", ".ci/run"):
        assert (paths.PROJ_ROOT / f).is_file(), f
    for nb in paths.NOTEBOOKS:
        assert (paths.NOTEBOOKS_DIR / f"{nb}.ipynb").is_file(), nb


def test_readme_opens_with_the_two_commands():
    text = (paths.PROJ_ROOT / "README.md").read_text(encoding="utf-8")
    head = text[:1500]
    assert "make report" in head and "make test" in head
    assert "make test" in (paths.PROJ_ROOT / ".ci" / "run").read_text()


def test_package_data_ships_every_data_file():
    """Every non-Python file under kit/ (packaged defaults, column registry, message catalogue,
    HTML templates) is matched by pyproject's package-data, so an installed kit finds it."""
    py = tomllib.loads((paths.PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = py["tool"]["setuptools"]["package-data"]["kit"]
    kit = paths.PROJ_ROOT / "kit"
    shipped = {p for g in globs for p in kit.glob(g) if p.is_file()}
    data = {p for p in kit.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert data <= shipped, sorted(str(p.relative_to(kit)) for p in data - shipped)
    for folder in ("core/defaults", "core/columns", "present/messages"):
        assert list((kit / folder).glob("*.yml")), folder


def test_sample_data_command_is_the_documented_one():
    make = (paths.PROJ_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m kit.datasets --out data/sample" in make
    assert (paths.PROJ_ROOT / "kit" / "datasets" / "__main__.py").is_file()
    assert "python -m kit.datasets" in (paths.PROJ_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_columns_reference_is_generated_from_the_code():
    """The README's reference of canonical columns and synonyms is what
    tools/columns_reference.py makes from kit.core.config, so it cannot drift."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("columns_reference", paths.PROJ_ROOT / "tools" / "columns_reference.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    readme = (paths.PROJ_ROOT / "README.md").read_text(encoding="utf-8")
    assert tool.section(readme) == tool.reference(), (
        "README.md's columns reference differs from the code: run python tools/columns_reference.py")
    from kit.core.config import SYNONYMS

    for table, columns in SYNONYMS.items():  # every synonym is in the README, not only the format
        for canon, syns in columns.items():
            assert f"| `{canon}` |" in readme and all(f"`{s}`" in readme for s in syns), (table, canon)
