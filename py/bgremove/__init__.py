"""Background removal: one pipeline for the browser (Pyodide) and CPython.

    from bgremove import Remover
    from bgremove.hosts.native import NativeHost
    result = asyncio.run(Remover(NativeHost()).remove(open("photo.jpg", "rb").read(), {"model": "u2netp"}))
"""
from .errors import BgRemoveError
from .models import DEFAULT_MODEL, MODELS, ModelSpec
from .options import Options
from .pipeline import ModelMask, Remover, Result

__all__ = ["BgRemoveError", "DEFAULT_MODEL", "MODELS", "ModelSpec", "ModelMask", "Options", "Remover", "Result"]
