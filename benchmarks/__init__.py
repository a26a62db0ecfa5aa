"""Performance benchmarks: scripts that print ratios measured side by side in one run against the
plainest code that does the same job (``python -m benchmarks.<name>``)."""
