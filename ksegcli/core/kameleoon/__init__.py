"""Kameleoon: the Automation API client and what ksegcli writes through it (custom data,
integration tools, identifier, reporting, goals, the global script), the API-key service,
the Data API, and the read-back of writes whose shape is inferred."""
