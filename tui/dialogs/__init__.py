"""Modal screens: help, tag editor, confirmation, import."""
