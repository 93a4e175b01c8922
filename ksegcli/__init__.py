"""ksegcli: set up, operate and verify the Kameleoon <-> Segment integration."""

__version__ = "0.1.0"
