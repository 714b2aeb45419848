"""nbtrack.autolog (see DESIGN.md); not built yet."""
