"""Test helper: a KoboToolbox fixture's ``form.json`` (formpack's JSON form of an XLSForm) as an
:class:`~evaluation.instruments.model.Instrument`.

The questions come from the newest version (each fixture's newest version holds every question);
labels are merged over all versions so that label exports of any version are recognised.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, Text


def _labels(row: dict[str, Any], translations: list[str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    label = row.get("label")
    if isinstance(label, list):
        for language, text in zip(translations, label, strict=False):
            if text:
                found[language or ""] = text
    elif isinstance(label, str):
        found[""] = label
    for key, value in row.items():
        if key.startswith("label::") and value:
            found[key.split("::", 1)[1]] = value
    return found


def _type(row: dict[str, Any]) -> tuple[str, str | None]:
    raw = " ".join(str(row["type"]).split())
    for prefix in ("select_one", "select_multiple"):
        if raw.startswith(prefix):
            rest = raw[len(prefix) :].strip() or row.get("select_from_list_name")
            return prefix, rest
    return raw.replace(" ", "_"), None


def kobo_instrument(folder: pathlib.Path) -> Instrument:
    form = json.loads((folder / "form.json").read_text(encoding="utf-8"))
    versions = form["versions"]
    labels: dict[str, dict[str, str]] = {}
    choice_labels: dict[tuple[str, str], dict[str, str]] = {}
    for version in versions:
        content = version["content"]
        translations = content.get("translations") or [None]
        for row in content["survey"]:
            if "name" in row:
                labels.setdefault(row["name"], {}).update(_labels(row, translations))
        for row in content.get("choices", []):
            key = (row["list_name"], row["name"])
            choice_labels.setdefault(key, {}).update(_labels(row, translations))
    content = versions[-1]["content"]
    stack: list[tuple[Question, list[Question]]] = []
    top: list[Question] = []
    for row in content["survey"]:
        kind, list_name = _type(row)
        if kind.startswith("end_"):
            node, children = stack.pop()
            done = node.replace(children=tuple(children))
            (stack[-1][1] if stack else top).append(done)
            continue
        name = row["name"]
        if kind.startswith("begin_"):
            node = Question(
                name=name,
                type=kind.removeprefix("begin_"),
                label=Text.of(labels.get(name)),
                repeat_count=row.get("repeat_count"),
            )
            stack.append((node, []))
            continue
        question = Question(
            name=name, type=kind, label=Text.of(labels.get(name)), list_name=list_name
        )
        (stack[-1][1] if stack else top).append(question)
    lists: dict[str, list[Choice]] = {}
    for row in content.get("choices", []):
        key = (row["list_name"], row["name"])
        lists.setdefault(row["list_name"], []).append(
            Choice(name=row["name"], label=Text.of(choice_labels.get(key)))
        )
    return Instrument(
        form_id=form["id_string"],
        title=form["title"],
        version=versions[-1]["version"],
        languages=(),
        default_language=None,
        questions=tuple(top),
        choice_lists=tuple(ChoiceList(n, tuple(c)) for n, c in lists.items()),
    )
