"""Redis implementations of the core's stores: shared state for several processes."""
