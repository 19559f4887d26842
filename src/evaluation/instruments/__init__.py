"""Survey instruments: the single source of truth for forms, codebooks and loaders.

Instruments are defined in YAML under ``surveys/`` and read into frozen dataclasses. From them the
package compiles deployable XLSForms, codebooks, printable bilingual questionnaires and back-check
forms; the same definitions type the loaders and drive the quality checks.
"""
