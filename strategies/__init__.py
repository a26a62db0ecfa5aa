"""Search strategies, one module per strategy; built-ins register on import (nasbench.registry)."""
