"""Feed publisher for a plain-text news listing."""
