"""The notebook layer: magics, the session, widgets and static outputs.

Importing it makes notices (the simulator line, a placeholder input) quiet one-line notes in a
Jupyter kernel instead of stderr blocks (see :mod:`runway_nb.notebook.notice`).
"""

from runway_nb.notebook import notice as _notice

_notice.install()

