"""What the steps print: one line per event, prefixed with the model it is about."""

from __future__ import annotations

_model = ""


def set_model(name: str) -> None:
    """Prefix later messages with ``[name]`` (empty: no prefix)."""
    global _model
    _model = name


def say(msg: str) -> None:
    print(f"[{_model}] {msg}" if _model else msg, flush=True)
