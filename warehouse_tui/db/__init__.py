"""Database layer: models, engine/session setup, migration runner."""
