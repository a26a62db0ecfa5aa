"""Search spaces, one module per space. Importing this package registers the built-ins."""

import importlib

# Until every module lands, import those present (temporary during development).
for _name in ("chain", "multibranch", "cell", "nb201", "hierarchical"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError:
        pass
