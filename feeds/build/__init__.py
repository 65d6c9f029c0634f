"""The offline build: every document written as files for static hosting, and published to object storage."""
