"""cbctviewer.resources."""
