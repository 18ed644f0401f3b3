"""The command line: the root in ``app``, one module per sub-app, loaded on demand (``lazy``)."""
