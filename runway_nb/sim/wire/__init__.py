"""The wire formats the simulator speaks, one module each.

* :mod:`~runway_nb.sim.wire.official`: Runway's API (``/v1/...``, version 2024-11-06);
* :mod:`~runway_nb.sim.wire.comet`: CometAPI (``/runwayml/v1/...``), the official format
  plus an optional envelope and a transient ``task_not_exist``;
* :mod:`~runway_nb.sim.wire.useapi`: useapi.net (``/v1/runwayml/...``) and
  :mod:`~runway_nb.sim.wire.makevid`: makevid.ai (``/api/v1/...``), both passing through the
  Runway web app's task format (:mod:`~runway_nb.sim.wire.webapp`).
"""
