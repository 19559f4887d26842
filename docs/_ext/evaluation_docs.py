"""Pages and directives that draw the documentation from the package, its tests and ``surveys/``.

- ``.. method-notes:: dotted.name`` renders the ``Notes`` (and ``References``) section of an
  estimator's docstring, so the methods pages never restate the equations in other words, and
  with ``:tests:`` the tests that check it: each named test must exist (otherwise the build warns,
  an error under ``-W``), and the test module's docstring, which names the independent source, is
  quoted.
- At ``builder-inited`` the codebooks of every instrument and round are generated from
  ``surveys/`` with the package's own codebook function into ``reference/codebooks/``.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
from typing import Any, ClassVar

from apiref import import_object
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from numpydoc.docscrape import NumpyDocString
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
CODEBOOKS = pathlib.Path("reference") / "codebooks"


def _test_functions(path: pathlib.Path) -> tuple[str, set[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }
    return ast.get_docstring(tree) or "", names


class MethodNotes(SphinxDirective):
    """Render the Notes of a docstring and the tests that check the object."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"tests": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """Build the nodes: the Notes, the References, then the tests.

        Returns
        -------
        list of docutils.nodes.Node
            The parsed content.
        """
        name = self.arguments[0]
        obj = import_object(name)
        if obj is None:
            LOGGER.warning("method-notes: cannot import %s", name, location=self.get_location())
            return []
        doc = NumpyDocString(inspect.getdoc(obj) or "")
        short = name.rsplit(".", 1)[-1]
        role = "class" if inspect.isclass(obj) else "func"
        lines = [f".. rubric:: :py:{role}:`~{name}`", ""]
        if not doc["Notes"]:
            LOGGER.warning(
                "method-notes: %s has no Notes section", name, location=self.get_location()
            )
        lines += [*doc["Notes"], ""]
        if doc["References"]:
            lines += ["**References**", "", *doc["References"], ""]
        tests = [t.strip() for t in (self.options.get("tests") or "").split(",") if t.strip()]
        if tests:
            lines += self._tests(short, tests)
        content = StringList(lines, source=f"<docstring of {name}>")
        container = nodes.container(classes=["method-notes-block"])
        # Short cross-references in the docstring resolve in the object's own module.
        context = self.env.ref_context
        saved = context.get("py:module")
        context["py:module"] = getattr(obj, "__module__", None) or name.rsplit(".", 1)[0]
        try:
            self.state.nested_parse(content, self.content_offset, container)
        finally:
            if saved is None:
                context.pop("py:module", None)
            else:
                context["py:module"] = saved
        return [container]

    def _tests(self, short: str, tests: list[str]) -> list[str]:
        root = pathlib.Path(self.env.srcdir).parent
        lines = [f"**Checked by** (tests of ``{short}``):", ""]
        quoted: dict[str, str] = {}
        for test in tests:
            file, _, func = test.partition("::")
            path = root / file
            if not path.is_file():
                LOGGER.warning("method-notes: no test file %s", file, location=self.get_location())
                continue
            docstring, names = _test_functions(path)
            if func and func not in names:
                LOGGER.warning(
                    "method-notes: %s has no test %s", file, func, location=self.get_location()
                )
                continue
            self.env.note_dependency(str(path))
            lines.append(f"- ``{test}``")
            if docstring:
                quoted.setdefault(file, " ".join(docstring.split()))
        lines.append("")
        for file, text in quoted.items():
            lines += [f"``{file}``: {text}", ""]
        return lines


def generate_codebooks(app: Sphinx) -> None:
    """Write the codebook of every instrument and round, generated from ``surveys/``."""
    from evaluation.instruments.codebook import codebook_markdown, status_line
    from evaluation.instruments.files import read_instruments

    root = pathlib.Path(app.srcdir).parent
    out = pathlib.Path(app.srcdir) / CODEBOOKS
    out.mkdir(parents=True, exist_ok=True)
    forms = read_instruments(root / "surveys")
    index = [
        "# Codebooks of the instruments",
        "",
        (
            "Generated at every build from `surveys/` with "
            "{py:func}`evaluation.instruments.codebook.codebook_markdown`, the same function "
            "that `nox -s instruments` uses for `reports/instruments/*.codebook.md`. They are "
            "therefore always the codebooks of the questionnaires in this version of the package."
        ),
        "",
        "| instrument | round | form | version | status |",
        "|---|---|---|---|---|",
    ]
    toctree = ["```{toctree}", ":hidden:", ""]
    wanted = {"index.md"}
    for (family, round_name), form in forms.items():
        page = f"{form.form_id}.md"
        wanted.add(page)
        text = codebook_markdown(form)
        target = out / page
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        index.append(
            f"| {family} | {round_name} | [{form.form_id}]({form.form_id}.md) | "
            f"{form.version} | {status_line(form)} |"
        )
        toctree.append(form.form_id)
    index += ["", *toctree, "```", ""]
    text = "\n".join(index)
    target = out / "index.md"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()


def keep_notebook_outputs_in_build(app: Sphinx) -> None:
    """Write executed notebooks beside the doctrees, not beside ``site/`` in the project root.

    myst-nb puts them in ``<outdir>/../jupyter_execute``, which for ``site/`` is the project
    folder itself.
    """
    folder = pathlib.Path(app.doctreedir).parent / "jupyter_execute"
    app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(folder.resolve()))


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and the codebook generator.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application.

    Returns
    -------
    dict
        Extension metadata.
    """
    app.add_directive("method-notes", MethodNotes)
    app.connect("builder-inited", generate_codebooks)
    app.connect("builder-inited", keep_notebook_outputs_in_build, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
