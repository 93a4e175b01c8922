"""The apply engine: the desired state read from an apply file, its validation and JSON
Schema, the plan against the account, its execution, and the export of an account back
to a file."""
