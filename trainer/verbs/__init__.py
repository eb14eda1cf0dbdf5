"""Verbs: `train`, `evaluate`, `predict`, `export`, each the orchestration of one command in the order the work
happens; the other rooms do the work."""
