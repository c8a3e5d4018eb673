"""`battle probe`: drive each capability of an adapter once against a running system, and say which work."""
