"""When to prompt for a credential: the decision table of ``credentials.choose`` and the
``Credentials.obtain`` loop around it (the commands only supply the prompt)."""

from __future__ import annotations

import pytest
from conftest import MemoryKeyring

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.auth.credentials import (
    Ask,
    Credential,
    Credentials,
    Refuse,
    Source,
    Stored,
    Use,
    after_an_empty_answer,
    choose,
)
from ksegcli.core.auth.keyring_store import KeyringStore
from ksegcli.errors import NotLoggedInError

SECRET = credentials.CLIENT_SECRET
TOKEN = credentials.SEGMENT_TOKEN


def _found(source: Source, spec: credentials.CredentialSpec = SECRET) -> Credential:
    return Credential(spec, f"value-from-{source}", source)


# -- the table: found, interactive, stored -> choice -------------------------------------------


@pytest.mark.parametrize("stored", ["use", "ask_first", "never"])
@pytest.mark.parametrize("interactive", [True, False])
@pytest.mark.parametrize("source", ["flag", "env", "stdin", "prompt", "derived"])
def test_a_value_given_now_is_used_whatever_the_rest(
    source: Source, interactive: bool, stored: Stored
) -> None:
    found = _found(source)
    assert choose(SECRET, found, interactive=interactive, stored=stored) == Use(found)


@pytest.mark.parametrize("interactive", [True, False])
@pytest.mark.parametrize("source", ["keyring", "config"])
def test_a_stored_value_is_used_by_a_plain_command(source: Source, interactive: bool) -> None:
    found = _found(source)
    assert choose(SECRET, found, interactive=interactive) == Use(found)


def test_a_login_asks_over_a_stored_value_on_a_terminal() -> None:
    found = _found("keyring")
    assert choose(SECRET, found, interactive=True, stored="ask_first") == Ask(SECRET)


def test_a_login_keeps_the_stored_value_off_a_terminal() -> None:
    found = _found("keyring")
    assert choose(SECRET, found, interactive=False, stored="ask_first") == Use(found)


def test_a_stored_value_that_is_never_a_candidate_is_asked_for_on_a_terminal() -> None:
    found = _found("keyring", TOKEN)
    assert choose(TOKEN, found, interactive=True, stored="never") == Ask(TOKEN)


@pytest.mark.parametrize("stored", ["use", "ask_first", "never"])
def test_nothing_found_on_a_terminal_is_asked_for(stored: Stored) -> None:
    assert choose(SECRET, None, interactive=True, stored=stored) == Ask(SECRET)


@pytest.mark.parametrize("found", [None, _found("keyring", TOKEN)])
def test_never_stored_off_a_terminal_refuses_saying_how_to_give_it(
    found: Credential | None,
) -> None:
    choice = choose(TOKEN, found, interactive=False, stored="never", keyring_unusable="locked")
    assert isinstance(choice, Refuse)
    assert choice.error.message == "No Segment Public API token given."
    assert choice.error.hint == (
        "Pass it on standard input with --token-stdin, or set SEGMENT_API_TOKEN."
    )


@pytest.mark.parametrize("stored", ["use", "ask_first"])
def test_nothing_found_off_a_terminal_names_the_login_command_env_and_flag(
    stored: Stored,
) -> None:
    choice = choose(SECRET, None, interactive=False, stored=stored, profile="prod")
    assert isinstance(choice, Refuse) and isinstance(choice.error, NotLoggedInError)
    assert choice.error.message == "No Kameleoon client secret for profile 'prod'."
    assert choice.error.hint == (
        "Run `ksegcli auth login`, or set KAMELEOON_CLIENT_SECRET "
        "(or pass --client-secret-stdin where the command has it)."
    )


def test_nothing_found_off_a_terminal_says_when_the_keyring_was_unusable() -> None:
    choice = choose(SECRET, None, interactive=False, keyring_unusable="no D-Bus session")
    assert isinstance(choice, Refuse)
    assert choice.error.message == (
        "No Kameleoon client secret for profile 'default': the OS keyring is not usable "
        "(no D-Bus session)."
    )
    assert choice.error.hint == (
        "Set KAMELEOON_CLIENT_SECRET (or pass --client-secret-stdin where the command has "
        "it), or install and unlock a keyring."
    )


def test_a_credential_without_a_flag_is_not_told_to_pass_one() -> None:
    spec = credentials.CredentialSpec("x", "Thing", "KSEG_X", "", secret=False)
    choice = choose(spec, None, interactive=False)
    assert isinstance(choice, Refuse)
    assert choice.error.hint == "Run `ksegcli auth login`, or set KSEG_X."


@pytest.mark.parametrize(
    ("stored", "interactive", "then"),
    [
        ("ask_first", True, ("use", True)),  # a login: the stored value, else one more question
        ("use", True, ("use", False)),
        ("never", True, ("never", False)),
    ],
)
def test_after_an_empty_answer(
    stored: Stored, interactive: bool, then: tuple[Stored, bool]
) -> None:
    assert after_an_empty_answer(stored, interactive) == then


# -- the loop: lookup, choose, ask -----------------------------------------------------------


def _creds(*, interactive: bool, env: dict[str, str] | None = None) -> Credentials:
    return Credentials(
        profile=config.load_profile("default"),
        keyring=KeyringStore(timeout=2),
        interactive=interactive,
        env=env or {},
    )


class Answers:
    def __init__(self, *answers: str) -> None:
        self.left = list(answers)
        self.asked: list[str] = []

    def __call__(self, spec: credentials.CredentialSpec) -> str:
        self.asked.append(spec.name)
        return self.left.pop(0)


def test_obtain_returns_the_answer_as_a_prompted_credential(memory_keyring: MemoryKeyring) -> None:
    ask = Answers("typed-secret")
    got = _creds(interactive=True).obtain(SECRET, ask=ask)
    assert (got.value, got.source) == ("typed-secret", "prompt")
    assert ask.asked == ["client_secret"]


def test_obtain_never_asks_off_a_terminal(memory_keyring: MemoryKeyring) -> None:
    ask = Answers()
    with pytest.raises(NotLoggedInError):
        _creds(interactive=False).obtain(SECRET, ask=ask)
    assert ask.asked == []


def test_an_empty_answer_refuses_a_plain_command(memory_keyring: MemoryKeyring) -> None:
    ask = Answers("")
    with pytest.raises(NotLoggedInError):
        _creds(interactive=True).obtain(SECRET, ask=ask)
    assert ask.asked == ["client_secret"]


def test_an_empty_answer_to_a_login_keeps_the_stored_value(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.set_password("ksegcli", "default:client_secret", "stored-secret")
    ask = Answers("")
    got = _creds(interactive=True).obtain(SECRET, stored="ask_first", ask=ask)
    assert (got.value, got.source) == ("stored-secret", "keyring")
    assert ask.asked == ["client_secret"]


def test_an_empty_answer_to_a_login_with_nothing_stored_asks_once_more(
    memory_keyring: MemoryKeyring,
) -> None:
    ask = Answers("", "")
    with pytest.raises(NotLoggedInError):
        _creds(interactive=True).obtain(SECRET, stored="ask_first", ask=ask)
    assert ask.asked == ["client_secret", "client_secret"]


def test_an_empty_answer_for_a_new_token_refuses_even_with_one_stored(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.set_password("ksegcli", "default:segment_token", "stored-token")
    ask = Answers("")
    with pytest.raises(NotLoggedInError, match="No Segment Public API token given"):
        _creds(interactive=True).obtain(TOKEN, stored="never", ask=ask)


def test_the_environment_wins_over_the_terminal(memory_keyring: MemoryKeyring) -> None:
    ask = Answers()
    creds = _creds(interactive=True, env={"SEGMENT_API_TOKEN": "env-token"})
    got = creds.obtain(TOKEN, stored="never", ask=ask)
    assert (got.value, got.source) == ("env-token", "env")
    assert ask.asked == []
