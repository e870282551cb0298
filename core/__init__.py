"""cbctviewer.core."""
