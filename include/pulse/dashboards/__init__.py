"""Pulse's built-in dashboards: static HTML pages drawn from the warehouse's ``reporting`` views.

- :mod:`pulse.dashboards.data` reads what each page shows from the reporting views (the semantic
  layer: the pages aggregate view columns, they define no measure of their own).
- :mod:`pulse.dashboards.render` writes the pages under ``$PULSE_HOME/dashboards/`` with their data
  embedded and Plotly (from the plotly package) beside them: they open offline, from disk.
- ``templates/`` holds the pages' HTML (Jinja2), ``static/`` their CSS and scripts.

The DAG ``pulse_dashboards`` renders them whenever a source's gold tables change;
``python -m pulse.dashboards`` renders them by hand.
"""
