"""The only place that turns data into what a reader sees: tables, plots, messages."""
