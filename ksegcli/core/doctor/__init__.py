"""`ksegcli doctor`: the checks of a setup, of the API facts ksegcli infers, and of what an
apply file declares."""
