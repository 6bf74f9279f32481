"""HTML export, index page, deliverables, the runner and the command line."""
