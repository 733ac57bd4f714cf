"""The item submission store (app label `ingest`): what platforms sent, kept for every reader."""
