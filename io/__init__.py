"""cbctviewer.io."""
