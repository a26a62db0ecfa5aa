"""Experiments: one module per study, each regenerating a committed ``results/`` folder (or, for a
few checks, printing its figures), run as ``python -m experiments.<name>`` with the command in
its docstring; ``results/README.md`` names the module or command behind every results folder."""
