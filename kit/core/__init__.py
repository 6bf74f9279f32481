"""Config, paths, periods, checks and the column registry: what every layer stands on."""
