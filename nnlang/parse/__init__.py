"""Text -> typed syntax tree. The only package that imports lark."""

from nnlang.parse.parser import parse_expr, parse_file, parse_text

__all__ = ["parse_expr", "parse_file", "parse_text"]
