"""The civil-affairs bureau's statistics: response times, false alarms, alert volume (DuckDB over the state DB)."""
