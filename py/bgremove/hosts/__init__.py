"""Hosts supply decode, encode and inference: `native` under CPython, `browser` in Pyodide."""
