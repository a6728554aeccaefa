"""Argument types that validate while argparse parses, so every usage error
(``--threads 0``, ``--set eps=``, ``--bounds 'milp(time_limit=abc)'``) is one
``nnlang: error:`` line with exit code 2 before any work starts.

Only the standard library and ``nnlang.registry`` are imported here: ``nnlang
--help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import re

from nnlang import registry

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        word = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {word}, got '{text}'") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text}'")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def share(text: str) -> float:
    """A share of time in [0, 1)."""
    value = _number(text, float)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def assignment(text: str) -> str:
    """``NAME=VALUE`` (``--set``); the value is parsed as an expression later."""
    name, sep, value = text.partition("=")
    if not sep or not _NAME.match(name.strip()) or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    return text


def parse_bounds(text: str) -> tuple[str, dict[str, float]]:
    """``milp(time_limit=1, budget=60)`` -> ``("milp", {"time_limit": 1.0, ...})``."""
    name, paren, rest = text.strip().partition("(")
    name = name.strip()
    if name not in registry.BOUND_METHODS:
        raise argparse.ArgumentTypeError(
            f"unknown bounds method '{name}' (known: {', '.join(registry.BOUND_METHODS)})")
    args: dict[str, float] = {}
    if paren:
        if not rest.endswith(")"):
            raise argparse.ArgumentTypeError(f"missing ')' in '{text}'")
        for part in rest[:-1].split(","):
            if not part.strip():
                continue
            key, eq, value = part.partition("=")
            key = key.strip()
            if not eq or not _NAME.match(key):
                raise argparse.ArgumentTypeError(
                    f"expected NAME=NUMBER inside the brackets, got '{part.strip()}'")
            if key in args:
                raise argparse.ArgumentTypeError(f"'{key}' given twice in '{text}'")
            try:
                args[key] = _number(value.strip(), float)
            except argparse.ArgumentTypeError as exc:
                raise argparse.ArgumentTypeError(f"{key}: {exc}") from None
    return name, args


def bounds(text: str) -> str:
    """``--bounds``: checked here, split by ``parse_bounds`` where it is used."""
    parse_bounds(text)
    return text
