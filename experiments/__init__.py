"""Experiments that regenerate committed ``results/`` folders (``python -m experiments.<name>``)."""
