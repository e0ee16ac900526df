"""Named reproductions; each registers itself with the experiment registry."""
