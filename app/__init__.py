"""cbctviewer.app."""
