"""Training workflow for the learned extraction components (annotated corpus -> spaCy NER, classifiers)."""
