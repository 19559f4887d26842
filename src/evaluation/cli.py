"""The ``evaluation`` command (also ``python -m evaluation``): a thin face over the stages.

Exit status: 0 on success, 1 when the input has problems (lint errors, data that cannot be
cleaned safely), 2 for a command-line usage error.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

from evaluation import __version__

__all__ = ["main"]


def _instruments_build(args: argparse.Namespace) -> int:
    from evaluation.instruments.build import build_outputs
    from evaluation.instruments.files import read_instruments, write_outputs

    forms = read_instruments(args.surveys)
    written = write_outputs(build_outputs(forms), args.out)
    print(f"Built {len(forms)} forms into {args.out} ({len(written)} files):")
    for (family, round_name), form in forms.items():
        print(f"  {family:<12} {round_name:<10} {form.form_id} (version {form.version})")
    return 0


def _print_findings(findings: Sequence[object]) -> tuple[int, int]:
    errors = sum(1 for f in findings if getattr(f, "severity", "") == "error")
    for finding in findings:
        print(f"{getattr(finding, 'severity', 'error').upper():<8} {finding}")
    return errors, len(findings) - errors


def _instruments_lint(args: argparse.Namespace) -> int:
    from evaluation.instruments.definitions import build_instrument, instrument_rounds
    from evaluation.instruments.errors import InstrumentError
    from evaluation.instruments.files import read_definitions
    from evaluation.instruments.lint import Finding, lint_instrument, lint_rounds
    from evaluation.instruments.xlsform import read_xlsform

    path = pathlib.Path(args.path)
    findings: list[Finding] = []
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        imported = read_xlsform(path)
        for note in imported.notes:
            print(f"NOTE     {note}")
        findings.extend(lint_instrument(imported.instrument))
        checked = 1
    else:
        definitions = read_definitions(path)
        checked = 0
        for doc in definitions.instruments:
            rounds = []
            for round_name in instrument_rounds(doc):
                try:
                    form = build_instrument(definitions, doc, round_name)
                except InstrumentError as err:
                    findings.append(
                        Finding("definition", "error", doc.path, doc.path, "", str(err))
                    )
                    continue
                rounds.append(form)
                findings.extend(lint_instrument(form))
                checked += 1
            findings.extend(lint_rounds(rounds))
    errors, warnings = _print_findings(findings)
    print(f"Checked {checked} form(s): {errors} error(s), {warnings} warning(s).")
    return 1 if errors else 0


def _instruments_import(args: argparse.Namespace) -> int:
    from evaluation.instruments.definitions import to_definitions
    from evaluation.instruments.files import write_definitions
    from evaluation.instruments.lint import lint_instrument
    from evaluation.instruments.xlsform import read_xlsform

    imported = read_xlsform(args.form)
    written = write_definitions(to_definitions(imported.instrument), args.out)
    print(f"Imported {args.form} into {args.out} ({len(written)} files).")
    for note in imported.notes:
        print(f"NOTE     {note}")
    errors, warnings = _print_findings(lint_instrument(imported.instrument))
    print(f"Lint of the imported form: {errors} error(s), {warnings} warning(s).")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from evaluation.instruments.files import read_instruments
    from evaluation.synthetic.demo import DemoOptions, build_demo
    from evaluation.synthetic.exports import write_files

    try:
        options = DemoOptions(
            seed=args.seed,
            n_enterprises=args.n_enterprises,
            apprentices_per_enterprise=args.apprentices_per_enterprise,
            format=args.format,
            clean=args.clean,
        )
        demo = build_demo(read_instruments(args.surveys), options)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    written = write_files(demo.files, args.out)
    apprentices = int(demo.population.apprentices["in_panel"].sum())
    print(
        f"Demo evaluation (synthetic data, seed {args.seed}): {options.n_enterprises} enterprises, "
        f"{apprentices} apprentices in the panel; {len(written)} files in {args.out}"
    )
    print(
        f"  exports: raw/exports/{args.format}/; truth: truth.json; problems: manifest.csv "
        f"({len(demo.manifest)} injected{', clean mode' if args.clean else ''}); manual "
        "occupation coding: decisions/occupation_coding.csv"
    )
    for note in demo.notes:
        print(f"NOTE     {note}")
    for form_id, names in demo.absent.items():
        print(
            f"NOTE     {form_id}: {len(names)} contract variables are not in the form yet and "
            f"were skipped ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        )
    return 0


def _clean(args: argparse.Namespace) -> int:
    from evaluation.cleaning.errors import CleaningError, UnresolvedDuplicatesError
    from evaluation.cleaning.outputs import run_clean
    from evaluation.loaders.errors import SourceFormatError

    partner = {"none": (), "sav": ("sav",), "dta": ("dta",), "both": ("sav", "dta")}[args.partner]
    try:
        run = run_clean(
            args.raw,
            args.out,
            private=args.private,
            decisions=args.decisions,
            surveys=args.surveys,
            language=args.labels,
            partner=partner,
            override_disclosure=args.override_disclosure,
            key_env=args.key_env,
            require_key=args.require_key,
        )
    except UnresolvedDuplicatesError as err:
        print(f"error: duplicates need decisions: {err}", file=sys.stderr)
        return 1
    except (CleaningError, SourceFormatError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    for source, counts in run.summary["sources"].items():
        print(
            f"{source}: {counts['rows_in']} rows in, {counts['rows_kept']} kept, "
            f"{counts['rows_excluded']} excluded, {counts['values_changed']} values changed, "
            f"{sum(counts['problems'].values())} problems to review"
        )
    print(f"Wrote {len(run.written)} files to {args.out} and {len(run.private)} to {args.private}.")
    return 0


def _checks(args: argparse.Namespace) -> int:
    import datetime as dt
    import os

    from evaluation.checks import ConfigError, run_checks, write_outputs
    from evaluation.loaders import SourceFormatError

    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
        findings = run_checks(
            args.raw,
            args.config,
            instruments=args.surveys,
            sample=args.sample,
            backchecks=args.backchecks,
            run_key=os.urandom(32),
        )
    except (ConfigError, SourceFormatError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    folder = write_outputs(findings, args.out, day=day)
    print(findings.summary())
    print(f"Wrote {folder}")
    return 0


def _demo_folder(args: argparse.Namespace) -> pathlib.Path:
    """Ask the demo world for a data folder (built once per seed and size, then reused)."""
    from evaluation.synthetic import DemoOptions, demo_folder

    options = DemoOptions(
        seed=args.demo_seed,
        n_enterprises=args.demo_enterprises,
        apprentices_per_enterprise=args.demo_apprentices,
        clean=True,
    )
    print(f"Demo world (simulated data) in {args.demo_dir} ...", file=sys.stderr)
    return demo_folder(args.demo_dir, options, surveys=args.surveys)


def _report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from evaluation.cleaning.errors import CleaningError, UnresolvedDuplicatesError
    from evaluation.loaders.errors import SourceFormatError
    from evaluation.pipeline_files import run_report
    from evaluation.plan import PlanError

    simulated = args.data_dir is None
    folder = _demo_folder(args) if simulated else pathlib.Path(args.data_dir)
    simulated = simulated or (folder / "truth.json").is_file()
    source = f"SIMULATED demo world ({folder.name})" if simulated else f"data folder {folder.name}"
    bar = tqdm(desc="report", unit="step", file=sys.stderr, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name, refresh=False)
        bar.update(1)

    try:
        done = run_report(
            args.plan,
            folder,
            args.out,
            surveys=args.surveys,
            simulated=simulated,
            source=source,
            language=args.language,
            cache=not args.no_cache,
            progress=step,
        )
    except UnresolvedDuplicatesError as err:
        print(f"error: duplicates need decisions: {err}", file=sys.stderr)
        return 1
    except (CleaningError, SourceFormatError, PlanError, FileNotFoundError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    results = done.run.results
    kind = "baseline report" if results.baseline_only else "evaluation report"
    print(
        f"Wrote the {kind} ({len(done.records)} files) to {args.out}: index.html, MANIFEST.md, "
        f"tables/, figures/{'; SIMULATED DATA' if simulated else ''}."
    )
    print(
        f"Data folder {folder}: {len(done.clean)} clean files, {len(done.private)} private "
        f"files; parsed raw files {'from the cache' if done.cached else 'cached'}."
    )
    for note in results.notes:
        print(f"NOTE     {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser of ``evaluation`` and its subcommands.
    """
    parser = argparse.ArgumentParser(
        prog="evaluation",
        description="Survey instruments, cleaning, indicators and impact estimation for the ILO "
        "Quality Apprenticeship and Lifelong Learning in China (Phase 2) evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"evaluation {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    instruments = commands.add_parser(
        "instruments", help="build, lint and import survey instruments"
    )
    actions = instruments.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="compile every instrument and round into XLSForms, codebooks and printable forms",
    )
    build.add_argument("--surveys", default="surveys", help="definitions folder (default: surveys)")
    build.add_argument("--out", required=True, help="output folder, created when missing")
    build.set_defaults(handler=_instruments_build)
    lint = actions.add_parser(
        "lint", help="check instrument definitions or an XLSForm; exit 1 on errors"
    )
    lint.add_argument(
        "path", nargs="?", default="surveys", help="a surveys/ folder or an .xlsx XLSForm"
    )
    lint.set_defaults(handler=_instruments_lint)
    imp = actions.add_parser("import", help="import an XLSForm into YAML definitions")
    imp.add_argument("form", help="the XLSForm (.xlsx)")
    imp.add_argument("--out", required=True, help="folder for the definitions (surveys-style)")
    imp.set_defaults(handler=_instruments_import)

    from evaluation.synthetic.exports import FORMATS

    demo = commands.add_parser(
        "demo",
        help="write a simulated evaluation with known effects as real platform exports",
    )
    demo.add_argument("--out", required=True, help="output folder, created when missing")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--n-enterprises", type=int, default=60, help="sampled enterprises")
    demo.add_argument(
        "--apprentices-per-enterprise", type=int, default=95, help="mean apprentices per enterprise"
    )
    demo.add_argument(
        "--format", choices=sorted(FORMATS), default="kobo-xlsx", help="export format"
    )
    demo.add_argument("--clean", action="store_true", help="no injected field problems")
    demo.add_argument("--surveys", default="surveys", help="definitions folder (default: surveys)")
    demo.set_defaults(handler=_demo)

    clean = commands.add_parser(
        "clean",
        help="clean raw exports into de-identified rounds and panels (exit 1 if unsafe)",
        description="Read every file declared in RAW/sources.toml, clean it with the reviewed "
        "decisions, write the clean data and accounting to OUT and the identifiers to PRIVATE.",
    )
    clean.add_argument("--raw", required=True, help="raw folder with sources.toml (read-only)")
    clean.add_argument("--out", required=True, help="output folder for the clean data")
    clean.add_argument(
        "--private",
        default="data/private",
        help="private folder for identifiers (default data/private; never inside --out)",
    )
    clean.add_argument("--decisions", help="folder with cleaning.toml and the decision files")
    clean.add_argument(
        "--surveys", default="surveys", help="instrument definitions (default surveys)"
    )
    clean.add_argument(
        "--partner",
        choices=["none", "sav", "dta", "both"],
        default="none",
        help="also write labelled SPSS/Stata files for partners (after a disclosure check)",
    )
    clean.add_argument(
        "--labels", choices=["en", "zh"], default="en", help="label language of partner files"
    )
    clean.add_argument(
        "--override-disclosure",
        action="store_true",
        help="write partner files even when k-anonymity is below the configured k",
    )
    clean.add_argument(
        "--key-env",
        default="EVALUATION_PRIVATE_KEY",
        help="environment variable with the Fernet key that encrypts the private store",
    )
    clean.add_argument(
        "--require-key",
        action="store_true",
        help="refuse to write the private store unencrypted",
    )
    clean.set_defaults(handler=_clean)

    checks = commands.add_parser(
        "checks",
        help="high-frequency data-quality checks on raw exports: workbook, CSV and HTML summary",
    )
    checks.add_argument("--raw", required=True, help="raw folder with its sources.toml")
    checks.add_argument(
        "--out", required=True, help="output folder; results go into a dated folder inside"
    )
    checks.add_argument("--config", help="checks.toml (default: settings from the instruments)")
    checks.add_argument(
        "--sample", help="sample frame to use instead of the one declared in sources.toml"
    )
    checks.add_argument(
        "--backchecks", help="back-check export to use instead of the one in sources.toml"
    )
    checks.add_argument(
        "--surveys", default="surveys", help="definitions folder (default: surveys)"
    )
    checks.add_argument("--date", help="date of the output folder, YYYY-MM-DD (default: today)")
    checks.set_defaults(handler=_checks)

    report = commands.add_parser(
        "report",
        help="run the analysis plan end to end and write the evaluation report",
        description="Quality checks, cleaning, indicators, estimates and the report (tables, "
        "figures, index.html, MANIFEST.md) from a data folder holding raw/ (with sources.toml), "
        "decisions/, private/ and clean/. Without --data-dir the demo world's simulated data "
        "are used (built once under --demo-dir) and every output says so.",
    )
    report.add_argument("--plan", default="analysis/plan.toml", help="the analysis plan")
    report.add_argument("--data-dir", help="data folder (default: the demo world)")
    report.add_argument("--out", default="reports", help="report folder (default reports)")
    report.add_argument(
        "--surveys", default="surveys", help="definitions folder (default: surveys)"
    )
    report.add_argument("--language", choices=["en", "zh"], default="en", help="report language")
    report.add_argument(
        "--no-cache", action="store_true", help="parse the raw files again (no cache)"
    )
    report.add_argument(
        "--demo-dir",
        default="data/demo",
        help="where the demo world's data folders are kept (default data/demo; git-ignored)",
    )
    report.add_argument("--demo-seed", type=int, default=0, help="demo world seed (default 0)")
    report.add_argument(
        "--demo-enterprises", type=int, default=60, help="demo enterprises (default 60)"
    )
    report.add_argument(
        "--demo-apprentices",
        type=int,
        default=95,
        help="demo mean apprentices per enterprise (default 95)",
    )
    report.set_defaults(handler=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit status.
    """
    from evaluation.instruments.errors import InstrumentError

    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InstrumentError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
