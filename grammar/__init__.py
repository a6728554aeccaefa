"""The nnlang grammar, shipped inside the wheel as the package ``nnlang.grammar``."""
