"""Generate the Python API reference from the package itself, and check that it is complete.

Every public module of ``evaluation`` (no path component starting with ``_``, no ``__main__``)
gets one page. A module documents the names of its ``__all__`` that it defines; names it
re-exports from another module are listed with a link to where they are documented, so nothing
is described twice. A module without ``__all__`` documents the public names it defines.

After reading, :func:`check_reference` warns (an error under ``-W``) when a public module has no
page, when a public name is missing from the Python domain, or when a function or class has an
empty docstring: nothing public can stay undocumented silently.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

ROLE = re.compile(r":[a-z]+:`~?([^`<]+?)(?:\s*<[^>]+>)?`")
PACKAGE = "evaluation"
OUT = pathlib.Path("reference") / "api"

#: Headings of the stage groups in the API index, in reading order.
STAGES = {
    "evaluation": "The package and its command line",
    "evaluation.instruments": "Instruments: YAML to XLSForm, lint, codebooks",
    "evaluation.loaders": "Loaders: raw exports and sources.toml",
    "evaluation.cleaning": "Cleaning: typing, decisions, de-identification, panel, exports",
    "evaluation.checks": "High-frequency data-quality checks",
    "evaluation.synthetic": "The demo world: simulated population and platform exports",
    "evaluation.plan": "The analysis plan",
    "evaluation.indicators": "Indicators and the results framework",
    "evaluation.estimation": "Estimation",
    "evaluation.reporting": "Reporting: tables, figures, disclosure gate, HTML report",
    "evaluation.pipeline": "The pipeline: the stages run for a plan, its report and its files",
}


@dataclass(frozen=True)
class ModulePage:
    """What one module's page documents."""

    name: str
    defined: tuple[str, ...]
    reexported: tuple[tuple[str, str], ...]  # (name, canonical target)
    submodules: tuple[str, ...]


@cache
def public_modules() -> tuple[str, ...]:
    """Return every public module of the package, sorted (the package itself first)."""
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, PACKAGE + "."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts):
            continue
        names.append(info.name)
    return tuple(sorted(names))


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if getattr(obj, "__module__", module.__name__) == module.__name__ and (
            inspect.isclass(obj) or inspect.isfunction(obj) or name.isupper()
        ):
            found.append(name)
    return sorted(found)


def _is_private(module_name: str) -> bool:
    return any(part.startswith("_") for part in module_name.split(".")[1:])


def _defined_here(module: ModuleType, name: str, obj: Any) -> bool:
    if inspect.ismodule(obj):
        return False
    home = getattr(obj, "__module__", None)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        if home and _is_private(home):
            # Defined in a private module: documented by the first public module exporting it.
            return _first_exporter(obj, name) == module.__name__
        return home == module.__name__
    # Data: documented where its ``#:`` comment lives, i.e. the module whose source assigns it.
    source = inspect.getsource(module) if module.__file__ else ""
    return any(line.startswith((f"{name} =", f"{name}:")) for line in source.splitlines())


def _first_exporter(obj: Any, name: str) -> str | None:
    for candidate in public_modules():
        module = importlib.import_module(candidate)
        if name in getattr(module, "__all__", ()) and getattr(module, name) is obj:
            return candidate
    return None


def _canonical(obj: Any, name: str, modules: tuple[str, ...]) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    home = getattr(obj, "__module__", None)
    if home and _is_private(home):
        return f"{_first_exporter(obj, name)}.{name}"
    if home and (inspect.isclass(obj) or inspect.isfunction(obj)):
        return f"{home}.{obj.__qualname__}"
    for candidate in modules:  # data re-exported: find the module whose source assigns it
        mod = importlib.import_module(candidate)
        if vars(mod).get(name) is obj and _defined_here(mod, name, obj):
            return f"{candidate}.{name}"
    return name


def module_page(name: str, modules: tuple[str, ...]) -> ModulePage:
    """Describe the page of one module."""
    module = importlib.import_module(name)
    defined, reexported = [], []
    for attr in _public_names(module):
        obj = getattr(module, attr)
        if _defined_here(module, attr, obj):
            defined.append(attr)
        else:
            reexported.append((attr, _canonical(obj, attr, modules)))
    subs = tuple(m for m in modules if m != name and m.rsplit(".", 1)[0] == name)
    return ModulePage(name, tuple(defined), tuple(reexported), subs)


def _role(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "mod"
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj):
        return "func"
    return "data"


def _module_list(names: Iterable[str]) -> list[str]:
    lines = []
    for name in names:
        doc = inspect.getdoc(importlib.import_module(name)) or ""
        summary = doc.split("\n\n")[0].replace("\n", " ")
        # The summary leaves its module: cross-references become plain code.
        summary = ROLE.sub(lambda m: f"``{m.group(1).split('.')[-1]}``", summary)
        lines.append(f"- :py:mod:`{name}`: {summary}")
    return lines


def render(page: ModulePage) -> str:
    """Return the reStructuredText of one module's page."""
    module = importlib.import_module(page.name)
    title = f"``{page.name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {page.name}", "    :no-members:", ""]
    lines += [f".. currentmodule:: {page.name}", ""]
    if page.submodules:
        lines += ["Modules", "-------", ""]
        lines += _module_list(page.submodules)
        if page.name != PACKAGE:  # the stages hang from the API index, not from the package
            lines += ["", ".. toctree::", "    :hidden:", ""]
            lines += [f"    {sub}" for sub in page.submodules]
        lines.append("")
    if page.reexported:
        lines += [
            "Names available here",
            "--------------------",
            "",
            (
                f"Import them as ``from {page.name} import ...``; each is documented in the "
                "module that defines it."
            ),
            "",
        ]
        for name, target in page.reexported:
            role = _role(getattr(module, name))
            lines.append(f"- :py:{role}:`{name} <{target}>`")
        lines.append("")
    if page.defined:
        lines += ["Contents", "--------", "", ".. autosummary::", ""]
        lines += [f"    {name}" for name in page.defined]
        lines.append("")
        for name in page.defined:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                directive = "autoexception" if issubclass(obj, BaseException) else "autoclass"
                lines += [f".. {directive}:: {page.name}.{name}", "    :members:", ""]
            elif inspect.isfunction(obj):
                lines += [f".. autofunction:: {page.name}.{name}", ""]
            else:
                lines += [f".. autodata:: {page.name}.{name}", "    :no-value:", ""]
    return "\n".join(lines)


def render_index(pages: list[ModulePage]) -> str:
    """Return the index of the API reference, grouped by stage."""
    lines = [
        "Python API",
        "==========",
        "",
        (
            "Every public module of the package, generated from its docstrings at build time. "
            "Start from the stage you use: each stage is one import "
            "(``from evaluation import estimation``)."
        ),
        "",
    ]
    toctree = [".. toctree::", "    :hidden:", ""]
    for stage, heading in STAGES.items():
        members = [
            p for p in pages if p.name == stage or p.name.startswith((stage + ".", stage + "_"))
        ]
        if stage == PACKAGE:
            members = [p for p in pages if p.name in {PACKAGE, "evaluation.cli"}]
        lines += [heading, "-" * len(heading), ""]
        lines += _module_list([p.name for p in members])
        lines.append("")
        toctree += [f"    {p.name}" for p in members if p.name.count(".") <= 1]
    return "\n".join([*lines, "", *toctree, ""])


def _write(path: pathlib.Path, text: str) -> None:
    # Rewrite only what changed, so incremental builds stay incremental.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(app: Sphinx) -> None:
    """Write one page per public module and the index into ``reference/api/``."""
    out = pathlib.Path(app.srcdir) / OUT
    out.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    pages = [module_page(name, modules) for name in modules]
    wanted = {f"{p.name}.rst" for p in pages} | {"index.rst"}
    for stale in out.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    for page in pages:
        _write(out / f"{page.name}.rst", render(page))
    _write(out / "index.rst", render_index(pages))
    app.env.evaluation_api_pages = pages  # type: ignore[attr-defined]


def check_reference(app: Sphinx, env: Any) -> None:
    """Warn for every public module or name that the reference does not document."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    objects = env.get_domain("py").objects
    modules = public_modules()
    for name in modules:
        docname = f"{OUT.as_posix()}/{name}"
        if docname not in env.found_docs:
            logger.warning("public module %s has no page in the API reference", name)
        page = module_page(name, modules)
        module = importlib.import_module(name)
        for attr in page.defined:
            full = f"{name}.{attr}"
            if full not in objects:
                logger.warning("public name %s is not documented in the API reference", full)
            obj = getattr(module, attr)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
                logger.warning("public name %s has no docstring", full)
        for attr, target in page.reexported:
            if target not in objects:
                logger.warning(
                    "%s.%s is re-exported from %s, which is not documented", name, attr, target
                )


def import_object(path: str) -> Any:
    """Import a dotted name (module, then attributes); ``None`` when it does not exist."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def resolve_alias(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a Python reference written through a re-export or a name the module imports.

    ``:func:`evaluation.estimation.estimate_effect``` and, inside
    :mod:`evaluation.estimation.propensity`, ``:func:`balance_table``` both point to the page
    of the module that defines the object.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    module = node.get("py:module")
    candidates = [f"{module}.{target}", target] if module else [target]
    domain = env.get_domain("py")
    for candidate in candidates:
        if not candidate.startswith(PACKAGE):
            continue
        obj = import_object(candidate)
        if obj is None:
            continue
        name = _canonical(obj, candidate.rsplit(".", 1)[-1], public_modules())
        if name and name != candidate and name in domain.objects:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, "obj", name, node, contnode
            )
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the generator, the completeness check and the alias resolver."""
    app.connect("builder-inited", generate)
    app.connect("env-check-consistency", check_reference)
    app.connect("missing-reference", resolve_alias)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
