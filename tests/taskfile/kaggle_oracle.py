"""The kaggle CLI 2.2.4 as a conformance oracle, loaded without authenticating.

`import kaggle` runs `kaggle/__init__.py`, which calls `KaggleApi().authenticate()`: with an
access token in the environment that is a network call (IntrospectToken), with OAuth
credentials on disk another one. We never run that file. A bare package object whose
`__path__` points at the installed package stands in for `kaggle` while
`kaggle.api.kaggle_api_extended` is imported (its submodule imports resolve through
`__path__`), and is removed again afterwards so that anyone who later imports the real
`kaggle` gets the real one. The module object we keep is the CLI's unmodified code.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import cache


@cache
def kaggle_api_extended() -> types.ModuleType:
    """The CLI's `kaggle.api.kaggle_api_extended` module, imported with no side effects."""
    loaded = sys.modules.get("kaggle.api.kaggle_api_extended")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("kaggle")  # locates the package; does not execute it
    assert spec is not None and spec.submodule_search_locations, "kaggle==2.2.4 is not installed"
    before = {name for name in sys.modules if name == "kaggle" or name.startswith("kaggle.")}
    stand_in = types.ModuleType("kaggle")
    stand_in.__path__ = list(spec.submodule_search_locations)
    stand_in.__version__ = "2.2.4"  # read only by update checks, never at import time
    sys.modules["kaggle"] = stand_in
    try:
        module = importlib.import_module("kaggle.api.kaggle_api_extended")
    finally:
        for name in [n for n in sys.modules if n == "kaggle" or n.startswith("kaggle.")]:
            if name not in before:
                del sys.modules[name]
    return module


def kaggle_api_class() -> type:
    """`KaggleApi`, whose static helpers are the CLI's task-file rules."""
    return kaggle_api_extended().KaggleApi
