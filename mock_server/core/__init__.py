"""The mock's domain: plain Python that knows no HTTP, reads time only from a Clock."""
