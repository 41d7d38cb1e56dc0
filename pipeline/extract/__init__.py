"""Extraction: a spaCy pipeline (blank English + rule components) that turns a Document into facts."""

from pipeline.extract.extractor import EXTRACTOR_VERSION, NER_EXTRACTOR_VERSION, extract, extract_from_spacy

__all__ = ["EXTRACTOR_VERSION", "NER_EXTRACTOR_VERSION", "extract", "extract_from_spacy"]
