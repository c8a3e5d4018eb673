"""Where a run executes: local processes on loopback, or the Docker Compose stack."""
