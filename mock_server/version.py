"""The package version, read by the build backend and by `apixo-mock --version`."""

__version__ = "0.2.0"
