"""cbctviewer.rendering."""
