"""The demo world: a simulated evaluation with known effects, rendered as real platform exports.

The data-generating process is documented in :mod:`evaluation.synthetic.population`; the true
effects with their estimands in :mod:`evaluation.synthetic.truth`; answering any instrument in
:mod:`evaluation.synthetic.respond`; the platform formats in :mod:`evaluation.synthetic.exports`;
field problems in :mod:`evaluation.synthetic.messiness`; the whole project folder in
:mod:`evaluation.synthetic.demo` (``evaluation demo`` on the command line).

This stage depends on :mod:`evaluation.instruments` only; nothing but the command line and tests
depends on it. All of its data are synthetic.
"""

from evaluation.synthetic.demo import Demo, DemoOptions, attachments, build_demo
from evaluation.synthetic.exports import FORMATS, demo_folder, write_files
from evaluation.synthetic.messiness import KINDS, MessOptions, inject_problems
from evaluation.synthetic.population import (
    Effects,
    Population,
    WorldConfig,
    simulate_capacity,
    simulate_enterprise_rounds,
    simulate_population,
)
from evaluation.synthetic.respond import (
    EngineOptions,
    Responses,
    SimulationError,
    answer_instrument,
    check_responses,
)
from evaluation.synthetic.submissions import Submissions, make_submissions
from evaluation.synthetic.truth import TrueEffect, Truth, truth

__all__ = [
    "FORMATS",
    "KINDS",
    "Demo",
    "DemoOptions",
    "Effects",
    "EngineOptions",
    "MessOptions",
    "Population",
    "Responses",
    "SimulationError",
    "Submissions",
    "TrueEffect",
    "Truth",
    "WorldConfig",
    "answer_instrument",
    "attachments",
    "build_demo",
    "check_responses",
    "demo_folder",
    "inject_problems",
    "make_submissions",
    "simulate_capacity",
    "simulate_enterprise_rounds",
    "simulate_population",
    "truth",
    "write_files",
]
