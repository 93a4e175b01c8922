"""Examples shown at the end of each command's help (both renderers, and docs/cli.md).

Keyed by the command's path after ``ksegcli``. A line starting with ``#`` says what
the next command does. tests/test_help_text.py parses every command line here with
the CLI's own parser, so an example that no longer works fails the suite; every
command without subcommands must have an entry. Lines stay under 72 columns: the
help must fit an 80-column terminal, panel borders included.

Loaded only when help is drawn.
"""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "apply": """
        # The plan: create / update / unchanged / drifted, and why
        ksegcli apply examples/account.toml --dry-run
        # CI drift gate: exit 0 nothing to change, 8 changes pending
        ksegcli apply examples/account.toml --dry-run --detailed-exitcode
        # Make the changes (a second run writes nothing)
        ksegcli apply examples/account.toml --yes
        # One project of the file, as JSON
        ksegcli apply examples/account.toml --project a1b2c3d4e5 --json
        # The file's JSON Schema, for editors
        ksegcli apply --schema > apply.schema.json
    """,
    "doctor": """
        # Every check of the profile's project, each with its fix
        ksegcli doctor --sitecode a1b2c3d4e5
        # Also the Segment destination and one user's remote data
        ksegcli doctor --source SOURCE_ID --user user-42 --region eu
        # Drift gate: is the account still as the file declares?
        ksegcli doctor --file examples/account.toml --json
        # Does your account answer as ksegcli infers? (reads only)
        ksegcli doctor --api
    """,
    "verify": """
        # Send one probe through the source, read it back from Kameleoon
        ksegcli verify --source SOURCE_ID --yes
        # EU workspace, with a track event, waiting up to 2 minutes
        ksegcli verify --source SOURCE_ID --region eu --track --timeout 120 --yes
    """,
    "export": """
        # The apply file of every project with anything of the integration
        ksegcli export -o account.toml
        # Just these projects, EU Segment workspace
        ksegcli export --project a1b2c3d4e5 --project 10002 --region eu
    """,
    "sandbox": """
        # Serve the fake services; paste the printed export lines
        ksegcli sandbox
        # In a script: start it, then point ksegcli at it
        ksegcli sandbox --port 8765 >/dev/null &
        ksegcli sandbox --print-env --port 8765
    """,
    "schema": """
        # Which commands have a schema
        ksegcli schema
        # The schema of `integration install --json`
        ksegcli schema integration install
        # The schema of the error document
        ksegcli schema error
    """,
    "completion": """
        # Install for bash (bash-completion loads it on the next TAB)
        ksegcli completion bash --install
        # zsh: installs in ~/.zfunc and prints the lines for ~/.zshrc
        ksegcli completion zsh --install
        # fish: nothing else to do
        ksegcli completion fish --install
        # Just print it (e.g. source <(ksegcli completion bash))
        ksegcli completion bash
    """,
    "auth login": """
        # Prompts for the secret (hidden)
        ksegcli auth login --client-id my-client-id
        # In CI: the secret on standard input
        ksegcli auth login --client-id my-client-id --client-secret-stdin
    """,
    "auth getapikey": """
        # From Kameleoon's service; stored in the keyring, shown masked
        ksegcli auth getapikey
        # Derived locally, no network, printed whole
        ksegcli auth getapikey --offline --show --no-store
    """,
    "auth status": """
        # Each credential: present?, where from, masked
        ksegcli auth status
        # Also prove the client credentials
        ksegcli auth status --check --json
    """,
    "auth logout": """
        # Forget the secrets of the profile "staging"
        ksegcli auth logout --profile staging
    """,
    "auth token": """
        # A valid access token for a script's own requests (only the token)
        ksegcli auth token
        ksegcli auth token --profile staging > token.txt
    """,
    "sitecode set": """
        # Exactly 10 letters or digits
        ksegcli sitecode set a1b2c3d4e5
    """,
    "sitecode show": """
        # The sitecode in effect; where it comes from goes to stderr
        ksegcli sitecode show
    """,
    "projects list": """
        # Id, name, URL and sitecode of every project
        ksegcli projects list
        ksegcli projects list --json
    """,
    "integration install": """
        # The Segment tool on two projects (ids or sitecodes)
        ksegcli integration install --project a1b2c3d4e5 --project 10002
        # The requests it would send to every project, nothing written
        ksegcli integration install --all --dry-run
    """,
    "integration uninstall": """
        # From one project
        ksegcli integration uninstall --project 10002
        # From every project, without asking (needed off a terminal)
        ksegcli integration uninstall --all --yes
    """,
    "integration status": """
        ksegcli integration status --project a1b2c3d4e5
        ksegcli integration status --all --json
    """,
    "integration identifier install": """
        # Step 4's script in each project's global custom script
        ksegcli integration identifier install --all
        # What would change on one project
        ksegcli integration identifier install --project a1b2c3d4e5 --dry-run
    """,
    "integration identifier uninstall": """
        ksegcli integration identifier uninstall --project a1b2c3d4e5
        ksegcli integration identifier uninstall --all --yes
    """,
    "integration identifier status": """
        ksegcli integration identifier status --project a1b2c3d4e5
        ksegcli integration identifier status --all --json
    """,
    "customdata list": """
        # Each custom data: one of ksegcli's? current?
        ksegcli customdata list --project a1b2c3d4e5
        ksegcli customdata list --all --json
    """,
    "customdata delete": """
        # By name or id; --yes is needed off a terminal
        ksegcli customdata delete "Group ID" --yes
        ksegcli customdata delete 41 --project a1b2c3d4e5 --yes
    """,
    "customdata create personas": """
        # "SegmentIO personas", List of string
        ksegcli customdata create personas
        # Read by the Segment user id; patch one whose code drifted
        ksegcli customdata create personas --user-id segment --update
    """,
    "customdata create trait": """
        # One UNIQUE custom data per trait, on every project
        ksegcli customdata create trait plan --all
        # A number, under its own name; the exact request only
        ksegcli customdata create trait age --name Age --format number --dry-run
    """,
    "customdata create group": """
        # "Group ID", read by the Segment user id
        ksegcli customdata create group --user-id segment
    """,
    "snippet render": """
        # Every kind and where it goes in Kameleoon
        ksegcli snippet render --list
        # Project > Global custom script
        ksegcli snippet render identifier
        # Acquisition code, written atomically
        ksegcli snippet render trait plan --user-id segment -o plan.js
        # Persona names for the targeting condition
        ksegcli snippet render persona-values --sitecode a1b2c3d4e5 --data-host data
        # Server side, for the Python SDK
        ksegcli snippet render personas --sdk python --user-var visitor_id
    """,
    "segment login": """
        # Prove the token and keep it in the keyring
        printf '%s\\n' "$TOKEN" | ksegcli segment login --token-stdin
        ksegcli segment login --region eu --token-stdin
    """,
    "segment destination create": """
        # The destination and its five mappings on a source
        ksegcli segment destination create --source SOURCE_ID
        # The writes it would send; fix settings that differ
        ksegcli segment destination create --source SOURCE_ID --dry-run --update
    """,
    "segment destination status": """
        # Exit 9 unless the destination and its mappings are right
        ksegcli segment destination status --source SOURCE_ID
        ksegcli segment destination status --source SOURCE_ID --region eu --json
    """,
    "segment sources list": """
        ksegcli segment sources list
        ksegcli segment sources list --region eu --json
    """,
    "reporting enable": """
        # Segment as reporting tool on every active campaign
        ksegcli reporting enable --all-active --dry-run
        ksegcli reporting enable --experiment 123 --personalization 456
    """,
    "reporting status": """
        ksegcli reporting status --active
        ksegcli reporting status --all --json
    """,
    "data get": """
        # Raw remote data under a key
        ksegcli data get COHORTS_user-42
        ksegcli data get common --sitecode a1b2c3d4e5 --region eu
    """,
    "data cohorts": """
        # The personas Segment sent for one user
        ksegcli data cohorts user-42
        ksegcli data cohorts user-42 --region na --json
    """,
    "data traits": """
        ksegcli data traits user-42
        ksegcli data traits user-42 --sitecode a1b2c3d4e5 --json
    """,
    "goals list": """
        # The goals Kameleoon made from Segment events
        ksegcli goals list --segment
        ksegcli goals list --all --json
    """,
}
