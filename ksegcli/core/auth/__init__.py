"""Credentials: where each one comes from (flags, environment, keyring), the keyring store,
the OAuth token cache, and the workflows behind `ksegcli auth`."""
