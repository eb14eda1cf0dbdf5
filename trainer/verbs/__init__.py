"""Verbs: `train`, `evaluate`, `predict`, `export`, each the orchestration of one command in the order the work
happens, inside the frame they share (`scope`: skip a published output, scratch folder, SIGTERM); the other rooms
do the work."""
