"""What tests use: MockServer (the app in a thread), its handle, the callback receiver, the plugin.

`serve` never imports this package; the core never does either.
"""
