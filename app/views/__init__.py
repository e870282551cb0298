"""cbctviewer.app.views."""
