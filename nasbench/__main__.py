"""The ``nasbench`` command (``python -m nasbench`` and the console script): :func:`entry`."""

import os
import sys


def entry() -> int:
    """Run :func:`nasbench.cli.main.main`; a Ctrl-C while the CLI's libraries (torch) are still
    being imported, before ``main`` can handle it, ends with one line and exit code 130 too.

    The current folder is importable, as under ``python -m nasbench``, so a suite or a flag can
    name ``my_module:MyClass`` from it; it is appended to ``sys.path`` (not put first, as
    ``python -m`` does), so a file there never shadows an installed package, and reading
    records imports nothing from it either way (:func:`nasbench.core.registry.inert`)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    try:
        from nasbench.cli.main import main
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(entry())
