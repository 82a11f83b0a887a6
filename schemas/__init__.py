"""JSON Schemas (draft 2020-12) of the documents of SPEC §5, shipped as package data."""
