"""Extraction quality: `scoring` matches extractions against reference data (pure functions), and
`evaluation` runs an extractor over the held-out gold documents and the train/dev expectations it owns
(`expectations/`)."""
