"""git elite: a signed, self-verifying registry of elite agent manifests on plain git."""

__version__ = "0.1.0"
