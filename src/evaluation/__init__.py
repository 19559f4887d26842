"""Survey instruments, cleaning, indicators and impact estimation for an ILO outcome evaluation.

`evaluation` carries the outcome evaluation of the ILO project "Quality Apprenticeship and Lifelong
Learning in China - Phase 2" from questionnaire to report. Each stage is a subpackage, imported on
its own::

    from evaluation import instruments, estimation

See ``DESIGN.md`` in the project documentation for the data flow between the stages.
"""

__version__ = "0.1.0"
