"""The pipeline: the listing parsed, given permanent ids and dates, tagged and indexed into a Site."""
