"""The one HTTP client of every service: retries and bounded waits, the rate limiter shared
by the machine's processes, the trace file, and the parsing boundary for remote answers."""
