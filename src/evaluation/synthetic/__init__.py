"""The demo world: a simulated evaluation with known effects, rendered as real platform exports."""
