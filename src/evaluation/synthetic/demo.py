"""The demo folder: a whole simulated evaluation as the files a project holds.

:func:`build_demo` turns the questionnaires and a seed into ``raw/`` (``sources.toml``, the
sample frame and the forms' attachments, the endline preload roster, the back-check sample and
one export per form and round in the chosen platform format), ``decisions/occupation_coding.csv``
(the reviewed manual occupation-coding file for the job titles the indicators' keyword table
cannot settle: ``manual_coding`` of the ``[indicators]`` settings), ``decisions/cleaning.toml``
(what cleaning must be told about the export format: dates, Stata missing values), ``truth.json``
(every true effect with its estimand) and ``manifest.csv`` (every injected field problem). It is
pure: the files come back as bytes; :func:`evaluation.synthetic.exports.write_files` writes them.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.instruments.model import Instrument
from evaluation.synthetic import answers, exports
from evaluation.synthetic.messiness import MessOptions, inject_problems
from evaluation.synthetic.population import (
    Population,
    WorldConfig,
    simulate_capacity,
    simulate_population,
    stream,
)
from evaluation.synthetic.respond import EngineOptions, answer_instrument
from evaluation.synthetic.submissions import Submissions, make_submissions
from evaluation.synthetic.truth import Truth, truth

__all__ = [
    "Demo",
    "DemoOptions",
    "attachments",
    "build_demo",
    "frame_files",
    "sources_toml",
]

_ANSWERS = {
    "apprentice": answers.apprentice_answers,
    "enterprise": answers.enterprise_answers,
    "capacity": answers.capacity_answers,
}
_LOADER_FORMAT = {
    "kobo-xlsx": {"format": "kobo-xlsx"},
    "kobo-csv": {"format": "kobo-csv", "encoding": "utf-8", "delimiter": ";"},
    "odk": {"format": "odk-zip", "encoding": "utf-8"},
    "surveycto": {
        "format": "surveycto-wide",
        "encoding": "utf-8",
        "date_formats": {
            "submitted_at": "%b %d, %Y %I:%M:%S %p",
            "start": "%b %d, %Y %I:%M:%S %p",
            "end": "%b %d, %Y %I:%M:%S %p",
        },
        "timezone": "Asia/Shanghai",
    },
    "spss": {
        "format": "spss",
        "metadata": {"instance_id": "key", "submitted_at": "submissiondate"},
        "date_formats": {"submitted_at": "iso8601", "start": "iso8601", "end": "iso8601"},
        "timezone": "Asia/Shanghai",
    },
    "stata": {
        "format": "stata",
        "metadata": {"instance_id": "key", "submitted_at": "submissiondate"},
        "date_formats": {"submitted_at": "iso8601", "start": "iso8601", "end": "iso8601"},
        "timezone": "Asia/Shanghai",
    },
    "gb18030-csv": {
        "format": "surveycto-wide",
        "encoding": "gb18030",
        "delimiter": ",",
        "date_formats": {
            "submitted_at": "%Y/%m/%d %H:%M",
            "start": "%Y/%m/%d %H:%M",
            "end": "%Y/%m/%d %H:%M",
        },
        "timezone": "Asia/Shanghai",
    },
}

#: What cleaning must be told about an export format, declared once in
#: ``decisions/cleaning.toml`` as a data manager does: how date questions are written when not
#: ISO 8601 (``[dates]``), and the survey firm's Stata extended missing values
#: (``[stata_missing]``, see :func:`evaluation.synthetic.exports.stata_dta`).
_CLEANING_RULES = {
    "surveycto": '[dates]  # as SurveyCTO writes dates\ndefault = "%b %d, %Y"\n',
    "gb18030-csv": '[dates]  # as Excel shows dates\ndefault = "%Y/%m/%d"\n',
    "stata": (
        "[stata_missing]  # the survey firm's extended missing values\n"
        'a = "dont_know"\nb = "refused"\nc = "not_applicable"\n'
    ),
}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What demo folder to build.

    Attributes
    ----------
    seed : int
        The world's seed.
    n_enterprises : int
        Sampled enterprises.
    apprentices_per_enterprise : int
        Mean sampled apprentices per enterprise.
    format : str
        Platform format of the exports, a key of :data:`evaluation.synthetic.exports.FORMATS`.
    clean : bool
        True: no field problems (``manifest.csv`` has only its header).
    mess : MessOptions
        Rates of each field problem when not clean.
    dont_know_rate, refused_rate : float
        Item non-response with special codes in questions the simulation leaves generic.
    """

    seed: int = 0
    n_enterprises: int = 60
    apprentices_per_enterprise: int = 95
    format: str = "kobo-xlsx"
    clean: bool = False
    mess: MessOptions = field(default_factory=MessOptions)
    dont_know_rate: float = 0.02
    refused_rate: float = 0.01

    def __post_init__(self) -> None:
        """Check the format."""
        if self.format not in exports.FORMATS:
            raise ValueError(
                f"unknown export format {self.format!r}; choose one of {sorted(exports.FORMATS)}"
            )


@dataclass(frozen=True, slots=True)
class Demo:
    """A built demo folder.

    Attributes
    ----------
    files : Mapping of str to bytes
        Relative paths (``raw/...``, ``decisions/occupation_coding.csv``, maybe
        ``decisions/cleaning.toml``, ``truth.json``, ``manifest.csv``) and contents.
    population : Population
        The simulated world.
    truth : Truth
        Its true effects.
    submissions : Mapping
        ``(instrument, round)`` to the submissions written (messy unless clean).
    manifest : pandas.DataFrame
        Every injected problem: ``file``, ``key``, ``instance_id``, ``column``, ``kind``,
        ``detail``.
    notes : tuple of str
        What the simulation could not do as the contract says (generic answers where the
        process gave none, values the form refused...), counted, one line each.
    absent : Mapping of str to tuple of str
        For each form (``form_id``), the contract variables it does not have (yet), skipped.
    """

    files: Mapping[str, bytes]
    population: Population
    truth: Truth
    submissions: Mapping[tuple[str, str], Submissions]
    manifest: pd.DataFrame
    notes: tuple[str, ...]
    absent: Mapping[str, tuple[str, ...]]


def attachments(population: Population) -> dict[str, pd.DataFrame]:
    """Return the forms' attached CSV files (``select_one_from_file`` and ``pulldata``).

    Parameters
    ----------
    population : Population
        The world.

    Returns
    -------
    dict
        File name to a frame with ``name`` and ``label``: ``cities.csv``, ``enterprises.csv``
        (with ``city``, the choice-filter column, ``sample_group``, read by ``pulldata`` into
        ``meta_sample_group``, and the design variables of the sample frame), ``roster.csv``
        (the endline preload roster of panel members, DOMAIN.md 8.4, see
        :func:`evaluation.synthetic.answers.preload_roster`), ``events.csv`` and
        ``participants.csv`` (capacity building).
    """
    cities = population.cities
    ent = population.enterprises
    tests = simulate_capacity(population)
    pre = tests[tests["round"] == "pre"]
    events = pre.drop_duplicates("event_id")
    return {
        "roster.csv": answers.preload_roster(population),
        "events.csv": pd.DataFrame(
            {"name": events["event_id"], "label": events["event_id"], "city": events["event_city"]},
            dtype=object,
        ),
        "participants.csv": pd.DataFrame(
            {
                "name": pre["participant_id"],
                "label": pre["participant_id"],
                "event": pre["event_id"],
            },
            dtype=object,
        ),
        "cities.csv": pd.DataFrame(
            {
                "name": cities["city"],
                "label": cities["zh"] + " " + cities["en"],
                "province": cities["province"],
                "role": cities["role"],
                "status": cities["status"],
                "min_wage_synthetic": cities["min_wage"],
            },
            dtype=object,
        ),
        "enterprises.csv": pd.DataFrame(
            {
                "name": ent["enterprise_id"],
                "label": ent["name"],
                "city": ent["city"],
                "sample_group": ent["treatment"].astype(str),
                "treatment": ent["treatment"].astype(str),
                "stratum": ent["stratum"],
                "industry": ent["industry"].astype(str),
                "gbt4754": ent["gbt4754"],
                "size": ent["size"].astype(str),
                "ownership": ent["ownership"].astype(str),
                "employees": ent["employees"].astype(str),
            },
            dtype=object,
        ),
    }


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def frame_files(
    population: Population,
    baseline: Submissions | None,
    *,
    resident_ids: bool,
    attached: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, bytes], pd.DataFrame]:
    """Return the sample frame, attachments, preload roster and back-check sample as CSV files.

    Parameters
    ----------
    population : Population
        The world.
    baseline : Submissions or None
        The apprentice baseline submissions (clean), for the roster and back-check sample.
    resident_ids : bool
        Whether the apprentice sample frame carries resident ID numbers (as an enterprise's HR
        roster does: a direct identifier the loaders must move to the private store).
    attached : Mapping of str to pandas.DataFrame, optional
        The forms' attachments (:func:`attachments`), when already built.

    Returns
    -------
    dict
        ``raw/frame/...`` paths and bytes: ``cities.csv``, ``enterprises.csv``,
        ``sample_frame.csv``, ``roster.csv`` (endline preload) and ``backcheck_sample.csv``.
    pandas.DataFrame
        Manifest rows for the resident ID numbers (empty when ``resident_ids`` is False).
    """
    attached = attachments(population) if attached is None else attached
    files = {f"raw/frame/{name}": _csv(frame) for name, frame in attached.items()}
    app = population.apprentices
    ent = population.enterprises.set_index("enterprise_id")
    sample = pd.DataFrame(
        {
            "resp_id": app["resp_id"],
            "enterprise_id": app["enterprise_id"],
            "city": app["city"],
            "treatment": app["treatment"].astype(str),
            "stratum": app["enterprise_id"].map(ent["stratum"]),
            "sex": (app["female"] + 1).astype(str),
            "name": app["name"],
            "phone": app["phone"],
        },
        dtype=object,
    )
    manifest = pd.DataFrame(columns=["file", "key", "instance_id", "column", "kind", "detail"])
    if resident_ids:
        sample["resident_id"] = app["resident_id"].to_numpy(dtype=object)
        manifest = pd.DataFrame(
            {
                "file": "raw/frame/sample_frame.csv",
                "key": app["resp_id"].to_numpy(dtype=object),
                "instance_id": "",
                "column": "resident_id",
                "kind": "direct_identifier",
                "detail": "resident ID number from the enterprise HR roster",
            }
        )
    files["raw/frame/sample_frame.csv"] = _csv(sample)
    if baseline is not None and "resp_id" in baseline.responses.main.columns:
        main = baseline.responses.main
        interviewed = main["resp_id"].to_numpy(dtype=object) != ""
        if "meta_consent" in main.columns:
            interviewed &= main["meta_consent"].to_numpy(dtype=object) == "1"
        done = main[interviewed]
        rng = stream(population.config.seed, "schedule").spawn(3)[2]
        chosen = []
        enumerator = done["meta_enum_id"] if "meta_enum_id" in done.columns else done["username"]
        for _, group in done.groupby(enumerator.to_numpy(dtype=object), sort=True):
            k = max(1, round(0.1 * len(group)))
            chosen.extend(rng.choice(group.index.to_numpy(), size=k, replace=False).tolist())
        picked = done.loc[sorted(chosen)]
        sample_bc = pd.DataFrame(
            {
                "resp_id": picked["resp_id"],
                "enterprise_id": picked.get("enterprise_id", ""),
                "meta_city": picked.get("meta_city", ""),
                "enumerator": enumerator.loc[picked.index],
                "interview_date": picked.get("today", ""),
                "instance_id": baseline.envelope.loc[picked.index, "instance_id"],
                "backchecker": [f"BC{1 + k % 4:02d}" for k in range(len(picked))],
            },
            dtype=object,
        ).sort_values("resp_id", kind="stable")
        files["raw/frame/backcheck_sample.csv"] = _csv(sample_bc)
    return files, manifest


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def sources_toml(entries: list[dict], sample_frame: dict, roster: dict) -> str:
    """Write ``sources.toml`` in the loaders' format (``evaluation.loaders.sources``).

    Parameters
    ----------
    entries : list of dict
        One ``[[files]]`` table per export (``path``, ``instrument``, ``round``, ``format``
        and the format's keys).
    sample_frame : dict
        The ``[sample_frame]`` table.
    roster : dict
        The ``[roster]`` table.

    Returns
    -------
    str
        The TOML text, keys in a fixed order.
    """
    lines = [
        "# Raw data of the synthetic demo evaluation (evaluation demo): simulated, not real data.",
        "",
    ]
    for entry in entries:
        lines.append("[[files]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in entry.items())
        lines.append("")
    for name, table in (("sample_frame", sample_frame), ("roster", roster)):
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
        lines.append("")
    return "\n".join(lines)


def _form_rng(seed: int, name: str, form: Instrument) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{name}:{form.form_id}".encode())])


_ROUND_START = {"baseline": "baseline_start", "endline": "endline_start"}


def build_demo(forms: Mapping[tuple[str, str], Instrument], options: DemoOptions) -> Demo:
    """Build the demo folder's files from the questionnaires.

    Parameters
    ----------
    forms : Mapping
        ``(instrument, round)`` to the form, as
        :func:`evaluation.instruments.files.read_instruments` returns them. Forms of families
        the simulation does not know are skipped (noted).
    options : DemoOptions
        Seed, size, export format, clean or messy.

    Returns
    -------
    Demo
        Files, world, truth, submissions, manifest and notes.

    Notes
    -----
    Every form is answered by the data-generating process's contract variables plus generic
    answers that obey the form (:mod:`evaluation.synthetic.respond`); then the server envelope
    is added, field problems are injected unless ``clean``, and the chosen writer renders it to
    ``raw/exports/<format>/``. The same options give the same bytes.
    """
    capacity = [f for (family, _), f in sorted(forms.items()) if family == "capacity"]
    modules = answers.capacity_modules(capacity[0]) if capacity else ()
    config = WorldConfig(
        seed=options.seed,
        n_enterprises=options.n_enterprises,
        apprentices_per_enterprise=options.apprentices_per_enterprise,
        capacity_modules=modules or WorldConfig().capacity_modules,
    )
    population = simulate_population(config)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    absent: dict[str, tuple[str, ...]] = {}
    manifests: list[pd.DataFrame] = []
    written: dict[tuple[str, str], Submissions] = {}
    entries: list[dict] = []
    clean: dict[tuple[str, str], Submissions] = {}
    files_attached = attachments(population)
    server = 400_000_000
    for (family, round_name), form in sorted(forms.items()):
        writer_of_answers = _ANSWERS.get(family)
        if writer_of_answers is None:
            notes.append(f"{form.form_id}: no simulation for instrument family {family!r}: skipped")
            continue
        fixed = writer_of_answers(population, round_name, form)
        notes.extend(f"{form.form_id}: {note}" for note in fixed.notes)
        start = getattr(config, _ROUND_START.get(round_name, "baseline_start"))
        engine = EngineOptions(
            dont_know_rate=options.dont_know_rate,
            refused_rate=options.refused_rate,
            today=start if isinstance(start, dt.date) else config.baseline_start,
        )
        responses = answer_instrument(
            form,
            fixed.main,
            _form_rng(options.seed, "respond", form),
            attachments=files_attached,
            options=engine,
            repeats=fixed.repeats,
        )
        notes.extend(f"{form.form_id}: {n}" for n in responses.notes if n.kind != "absent")
        absent[form.form_id] = tuple(n.question for n in responses.notes if n.kind == "absent")
        submissions = make_submissions(
            responses, _form_rng(options.seed, "envelope", form), server_start=server
        )
        server += 1_000_000
        clean[(family, round_name)] = submissions
        manifest = pd.DataFrame()
        if not options.clean:
            submissions, manifest = inject_problems(
                submissions, _form_rng(options.seed, "messiness", form), options.mess
            )
        written[(family, round_name)] = submissions
        rendered = exports.FORMATS[options.format](submissions)
        for name, content in rendered.items():
            path = f"raw/exports/{options.format}/{name}"
            files[path] = content
        main_path = f"raw/exports/{options.format}/{next(iter(rendered))}"
        if len(manifest):
            manifests.append(manifest.assign(file=main_path))
        entry = {
            "path": main_path.removeprefix("raw/"),
            "instrument": family,
            "round": round_name,
            **_LOADER_FORMAT[options.format],
            "expected_rows": len(submissions.responses.main),
        }
        if options.format == "kobo-xlsx":
            entry["sheet"] = exports.kobo_sheet_name(form.title, [])
        entries.append(entry)
    frames, frame_manifest = frame_files(
        population,
        clean.get(("apprentice", "baseline")),
        resident_ids=not options.clean,
        attached=files_attached,
    )
    files.update(frames)
    if len(frame_manifest):
        manifests.append(frame_manifest)
    files["raw/sources.toml"] = sources_toml(
        entries,
        {
            "path": "frame/sample_frame.csv",
            "format": "csv",
            "encoding": "utf-8",
            "delimiter": ",",
            "key": "resp_id",
            "key_pattern": "^[A-Z]{2}[0-9]{6}$",
            "enterprise": "enterprise_id",
            "enterprise_pattern": "^[A-Z]{2}[0-9]{3}$",
            "treatment": "treatment",
            "treatment_values": ["0", "1"],
            "strata": ["city", "stratum"],
        },
        {
            "path": "frame/roster.csv",
            "format": "csv",
            "encoding": "utf-8",
            "delimiter": ",",
            "key": "name",
        },
    ).encode("utf-8")
    last_day = np.datetime64(config.endline_start) + np.timedelta64(config.fieldwork_days, "D")
    files["decisions/occupation_coding.csv"] = _csv(answers.manual_coding(str(last_day)))
    if options.format in _CLEANING_RULES:
        files["decisions/cleaning.toml"] = (
            "# Standing cleaning rules of the synthetic demo (evaluation demo).\n\n"
            + _CLEANING_RULES[options.format]
        ).encode()
    the_truth = truth(population)
    files["truth.json"] = the_truth.to_json().encode("utf-8")
    columns = ["file", "key", "instance_id", "column", "kind", "detail"]
    manifest = (
        pd.concat([m[columns] for m in manifests], ignore_index=True)
        if manifests
        else pd.DataFrame(columns=columns)
    )
    files["manifest.csv"] = _csv(manifest)
    return Demo(
        files,
        population,
        the_truth,
        written,
        manifest,
        tuple(notes),
        {form_id: names for form_id, names in absent.items() if names},
    )
