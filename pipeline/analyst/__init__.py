"""The analysts' conveniences over the warehouse: read-only SQL and Parquet export (`query`), and the
policy comparison of two LCDs (`comparison`, `lcd compare`)."""
