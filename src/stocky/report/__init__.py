"""The monitoring report: forecasts vs actuals, rolling error vs the drift threshold, skill.

`build` collects the data (`model`) from the prediction log, the audit trail and the registry;
`html` renders the fleet overview and the per-ticker pages from Jinja2 templates; `charts`
draws PNGs from plain arrays and `figures` draws them for one ticker; `write` saves the pages
and their charts to a folder (the overview's rows come from `stocky.pipelines.fleet_view`).
Nothing is imported here, so `stocky.report.charts` loads without the rest.
"""
