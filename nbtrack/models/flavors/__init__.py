"""One module per framework; each imports its framework inside functions only."""
