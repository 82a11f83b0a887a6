"""The pure core: bytes in, values out.

Documents, canonical bytes, keys, schemas, the registry layout, the rule engine, indexing,
trust, evals and generation, ranking. Nothing here talks to git, reads or writes files,
opens a connection or prints; tests/test_architecture.py keeps it so (docs/architecture.md).
"""
