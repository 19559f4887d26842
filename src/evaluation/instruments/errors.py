"""Errors raised by the instrument stage."""


class InstrumentError(Exception):
    """A survey definition is broken; the message names the file, the question and the problem."""
