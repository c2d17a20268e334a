"""The monitoring report: forecasts vs actuals, rolling error vs the drift threshold, skill.

`build` collects the data (`model`) from the prediction log, the audit trail and the registry;
`html` renders the page from Jinja2 templates; `charts` draws PNGs from plain arrays and
`figures` draws them for one ticker; `write` saves the page and its charts to a folder.
Nothing is imported here, so `stocky.report.charts` loads without the rest.
"""
