"""Dialogs of the viewer: series browser, tag browser, shortcuts."""
