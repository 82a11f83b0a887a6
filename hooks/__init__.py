"""Hook shims installed by `git elite hooks install`, shipped as package data."""
