"""The ``nasbench`` command (``python -m nasbench`` and the console script): :func:`entry`."""

import sys


def entry() -> int:
    """Run :func:`nasbench.cli.main.main`; a Ctrl-C while the CLI's libraries (torch) are still
    being
    imported, before ``main`` can handle it, ends with one line and exit code 130 too."""
    try:
        from nasbench.cli.main import main
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(entry())
