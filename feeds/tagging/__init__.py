"""Countries and topics found in an article's text: tables compiled once, rules plus a learned model."""
