"""cbctviewer.app.panels."""
