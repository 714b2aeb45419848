"""The ``rest`` backend: a client of an MLflow-compatible tracking server (``http://``, ``https://``)."""
