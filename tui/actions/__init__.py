"""The app's actions, one module per group of keys (the sections of the help screen).

Each group is a mixin on `PaperAppBase` (base.py), which holds the state and the helpers they
share; `tui.app.PaperTUI` combines them with the layout and the global keys.
"""
