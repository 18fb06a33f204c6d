"""The real outbound HTTP adapters injected into the core.

sender.py delivers callbacks, fetcher.py downloads reference images, and
reach.py is the checked connecting both share (host rules, then one socket).
The names below are the old `mock_server.outbound` module's, kept importable.
"""

from .fetcher import FetchResult, ImageFetcher
from .reach import describe_error
from .sender import HttpCallbackSender, read_answer

__all__ = ("FetchResult", "HttpCallbackSender", "ImageFetcher", "describe_error", "read_answer")
