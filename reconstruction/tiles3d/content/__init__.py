"""Binary tile content writers, one module per format."""
