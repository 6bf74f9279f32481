"""Plots of the pipeline stages, one module per stage (``plot_x(data, *, ax=None, lang=...) -> Axes``)."""
