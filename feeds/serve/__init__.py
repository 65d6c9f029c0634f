"""The service: the Flask app over the rendered documents, live reload and WebSub notification."""
