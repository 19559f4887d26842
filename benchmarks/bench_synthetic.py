"""Demo-world generation: time and peak memory at the default size and at 10x.

Times, for 60 enterprises x 95 apprentices (about 5,000) and 600 x 95 (about 50,000):

- ``simulate_population``: the world and its potential outcomes;
- answering the apprentice forms of both rounds (contract variables + the generic engine);
- ``check_responses`` on both rounds (the expression evaluator over every question);
- the Kobo CSV writer, against the peer ``pandas.DataFrame.to_csv`` writing the same table with
  the same dialect (``;``, all quoted, CRLF) in the same run;
- the whole ``build_demo`` (all seven forms: apprentice, enterprise and capacity rounds; messy;
  Kobo XLSX).

Peak memory is measured with ``tracemalloc`` in a separate run of each step (so it does not slow
the timings). Each timing is one run (generation is deterministic and long).
"""

from __future__ import annotations

import csv
import io
import pathlib
import time
import tracemalloc

import numpy as np

from evaluation.instruments.files import read_instruments
from evaluation.synthetic.answers import apprentice_answers
from evaluation.synthetic.demo import DemoOptions, attachments, build_demo
from evaluation.synthetic.exports import kobo_csv
from evaluation.synthetic.population import WorldConfig, simulate_population
from evaluation.synthetic.respond import answer_instrument, check_responses
from evaluation.synthetic.submissions import make_submissions

ROOT = pathlib.Path(__file__).resolve().parents[1]


def timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def peak_mib(func) -> float:
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def run(n_enterprises: int, forms) -> None:
    config = WorldConfig(seed=0, n_enterprises=n_enterprises)  # 95 apprentices per enterprise

    def population():
        return simulate_population(config)

    world, t_population = timed(population)
    files = attachments(world)

    def answer():
        out = {}
        for round_name in ("baseline", "endline"):
            form = forms[("apprentice", round_name)]
            fixed = apprentice_answers(world, round_name, form)
            out[round_name] = answer_instrument(
                form, fixed.main, np.random.default_rng(1), attachments=files, repeats=fixed.repeats
            )
        return out

    responses, t_answer = timed(answer)

    def check():
        return [check_responses(r, attachments=files) for r in responses.values()]

    _, t_check = timed(check)
    submissions = make_submissions(responses["baseline"], np.random.default_rng(2), server_start=1)
    _, t_kobo = timed(lambda: kobo_csv(submissions))
    main = submissions.responses.main

    def peer():
        buffer = io.StringIO()
        main.to_csv(buffer, sep=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n", index=False)
        return buffer.getvalue().encode("utf-8")

    _, t_peer = timed(peer)
    options = DemoOptions(seed=0, n_enterprises=n_enterprises, format="kobo-xlsx")
    _, t_demo = timed(lambda: build_demo(forms, options))
    mem_population = peak_mib(population)
    mem_answer = peak_mib(answer)
    mem_demo = peak_mib(lambda: build_demo(forms, options))
    apprentices = len(world.apprentices)
    print(
        f"\n{n_enterprises} enterprises, {apprentices:,} apprentices, "
        f"{len(responses['baseline'].main.columns)} baseline questions"
    )
    print(f"  simulate_population          {t_population:8.2f} s   peak {mem_population:8.1f} MiB")
    print(f"  answer both rounds           {t_answer:8.2f} s   peak {mem_answer:8.1f} MiB")
    print(f"  check_responses both rounds  {t_check:8.2f} s")
    print(
        f"  kobo_csv (baseline)          {t_kobo:8.2f} s   pandas.to_csv peer {t_peer:6.2f} s   "
        f"ratio {t_kobo / t_peer:5.2f}"
    )
    print(f"  build_demo (kobo-xlsx)       {t_demo:8.2f} s   peak {mem_demo:8.1f} MiB")


def main() -> None:
    forms = read_instruments(ROOT / "surveys")
    for n_enterprises in (60, 600):
        run(n_enterprises, forms)


if __name__ == "__main__":
    main()
