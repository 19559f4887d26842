"""The API reference covers every public module and name (docs/_ext/apiref.py).

The documentation build (``nox -s docs``) checks the same against Sphinx's inventory; this test
catches the common breakages in the test session too: a new module, a name added to
``__all__`` that does not exist, a re-export whose definition is documented nowhere, a public
function without a docstring. The list of modules is enumerated here independently, from the
files under ``src/evaluation``.
"""

from __future__ import annotations

import importlib.util
import inspect
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "evaluation"


@pytest.fixture(scope="module")
def apiref():
    spec = importlib.util.spec_from_file_location("apiref", ROOT / "docs" / "_ext" / "apiref.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["apiref"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("apiref", None)


def _modules_on_disk() -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] == "__main__" or any(p.startswith("_") for p in parts[1:]):
            continue
        found.add(".".join(parts))
    return found


def test_every_public_module_gets_a_page(apiref):
    assert set(apiref.public_modules()) == _modules_on_disk()


def test_every_public_name_is_documented_once(apiref):
    modules = apiref.public_modules()
    pages = [apiref.module_page(name, modules) for name in modules]
    documented = {f"{p.name}.{n}" for p in pages for n in p.defined} | set(modules)
    for page in pages:
        module = importlib.import_module(page.name)
        listed = getattr(module, "__all__", None)
        if listed is not None:
            assert sorted(page.defined + tuple(n for n, _ in page.reexported)) == sorted(listed)
        for name, target in page.reexported:
            assert target in documented, f"{page.name}.{name} points to undocumented {target}"
    defined = [f"{p.name}.{n}" for p in pages for n in p.defined]
    assert len(defined) == len(set(defined))


def test_documented_functions_and_classes_have_docstrings(apiref):
    modules = apiref.public_modules()
    for name in modules:
        module = importlib.import_module(name)
        assert inspect.getdoc(module), f"module {name} has no docstring"
        for attr in apiref.module_page(name, modules).defined:
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


def test_every_stage_is_in_the_api_index(apiref):
    modules = apiref.public_modules()
    pages = [apiref.module_page(name, modules) for name in modules]
    toctree = set(apiref.render_index(pages).split(".. toctree::")[1].split())
    stages = {name for name in modules if name.count(".") <= 1}
    assert stages - toctree == set(), "top-level modules missing from STAGES in docs/_ext/apiref.py"
