"""HTTP servers as ASGI apps: the REST API and the model scoring server."""
