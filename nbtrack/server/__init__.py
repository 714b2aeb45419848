"""HTTP servers as ASGI apps: the tracking server (``nbtrack.server.tracking``, MLflow's REST API
over a store) and the model scoring server (``nbtrack.server.scoring``, MLflow's ``/invocations``)."""
