"""Extraction: a spaCy pipeline (blank English + rule components) that turns a Document into facts."""
