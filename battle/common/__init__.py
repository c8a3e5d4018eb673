"""Small shared helpers of the harness: time formats and JSON-lines files."""
