"""nbtrack.projects (see DESIGN.md); not built yet."""
