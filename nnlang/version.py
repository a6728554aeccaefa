"""nnlang's version (one place: the package, the CLI and the emitted files' headers)."""

__version__ = "0.1.0"
