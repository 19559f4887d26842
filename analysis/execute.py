"""Execute the analysis notebooks and render them as HTML (``nox -s notebooks``).

Each ``analysis/NN_slug.py`` (jupytext percent format) is read with jupytext, given a cell of
injected parameters right after its ``parameters`` cell (as papermill does), executed with
nbclient from the repository root, and written to ``OUT/NN_slug.ipynb`` and ``OUT/NN_slug.html``
(nbconvert). A notebook that raises stops nothing else but makes the run exit with status 1,
naming every notebook that failed.

Usage: ``python analysis/execute.py [--out reports/notebooks] [--only 01] [--set seed=3 ...]``.
A ``--set`` value is a Python literal (``--set data_dir='"data"'``); ``out`` is set to the output
folder unless given.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

import jinja2
import jupytext
import nbclient
import nbformat
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "analysis").glob("[0-9][0-9]_*.py"))
# nbconvert's page without the scripts it would fetch from a CDN (RequireJS, MathJax, Mermaid):
# the pages open offline, with no failed loads, and the notebooks need none of them.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def with_parameters(notebook: nbformat.NotebookNode, values: dict) -> nbformat.NotebookNode:
    """Return a copy with a cell assigning ``values`` after the ``parameters`` cell."""
    cells = list(notebook.cells)
    where = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    if len(where) != 1:
        msg = f"expected one cell tagged 'parameters', found {len(where)}"
        raise ValueError(msg)
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    copy = nbformat.from_dict(notebook)
    copy.cells = [*cells[: where[0] + 1], injected, *cells[where[0] + 1 :]]
    return copy


def execute(script: pathlib.Path, out: pathlib.Path, values: dict) -> pathlib.Path:
    """Execute one notebook; write its ``.ipynb`` (even when it fails) and ``.html``."""
    notebook = with_parameters(jupytext.read(script), values)
    target = out / f"{script.stem}.ipynb"
    client = nbclient.NotebookClient(
        notebook, timeout=2400, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    try:
        client.execute()
    finally:
        nbformat.write(notebook, target)
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(notebook)
    (out / f"{script.stem}.html").write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """Execute the notebooks named by the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/notebooks", help="output folder")
    parser.add_argument("--only", action="append", default=[], help="notebook name prefix")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=LITERAL")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    values = {"out": str(out)}
    for item in args.set:
        name, _, literal = item.partition("=")
        values[name.strip()] = ast.literal_eval(literal)
    chosen = [s for s in NOTEBOOKS if not args.only or s.name.startswith(tuple(args.only))]
    if not chosen:
        parser.error(f"no notebook matches {args.only}")
    failed = []
    for script in chosen:
        print(f"executing {script.relative_to(ROOT)}", flush=True)
        try:
            execute(script, out, values)
        except CellExecutionError as err:
            print(f"FAILED {script.name}:\n{err}", file=sys.stderr)
            failed.append(script.name)
    print(f"{len(chosen) - len(failed)} of {len(chosen)} notebooks executed into {out}")
    if failed:
        print(f"notebooks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
