"""The ``nasbench`` command line, on top of every other layer."""
