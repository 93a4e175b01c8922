"""The one runner of the commands that write planned actions (commands/_run.py): the
order of its steps and hooks, dry run, exit codes, Ctrl-C, and the bounded call."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import pytest
import typer

from ksegcli.commands._run import call_writes, run_actions, run_plan
from ksegcli.core import interrupt
from ksegcli.core.kameleoon.client import Site
from ksegcli.core.plan import Action, ActionResult, Request
from ksegcli.errors import ApiError, ExitCode
from ksegcli.output import Output

SITE = Site(7, "Shop", "https://shop.test", "ABCDE12345", "SITE")


class Http:
    base_url = "https://api.test"


class Client:
    http = Http()


class Session:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def lock_account(self) -> None:
        self.calls.append("lock")

    def kameleoon(self) -> Client:
        self.calls.append("client")
        return Client()

    def projects(self, refs: Sequence[str], *, all_projects: bool = False) -> list[Site]:
        self.calls.append(f"projects {list(refs)} all={all_projects}")
        return [SITE]


class State:
    def __init__(self, calls: list[str], *, json_mode: bool = False) -> None:
        self.session = Session(calls)
        self.output = Output(json_mode=json_mode)


def _actions() -> list[Action]:
    return [
        Action(SITE, "custom-data", "plan", "create", "absent", Request("POST", "/custom-datas")),
        Action(SITE, "custom-data", "tier", "unchanged", "as declared"),
    ]


def _created(client: Any, action: Action) -> ActionResult:
    return ActionResult(action, "created", "created", 1)


def _failed(client: Any, action: Action) -> ActionResult:
    raise ApiError("refused", code="api_refused")


def _hooks(calls: list[str]) -> dict[str, Any]:
    """Every hook, each recording its name."""
    return {
        "before_writes": lambda actions: calls.append(f"before_writes {len(actions)}"),
        "settle": lambda client, results: calls.append("settle") or ["a warning"],
        "after_writes": lambda client, results: calls.append(f"after_writes {len(results)}"),
        "report": lambda results: calls.append("report"),
        "summary": lambda results: calls.append("summary"),
        "exit_code": lambda: calls.append("exit_code") or 0,
    }


def _real_run(calls: list[str], handler: Any, **hooks: Any) -> None:
    """A run of the two actions with ``handler``, every hook recording in ``calls``."""
    run_actions(
        State(calls),  # type: ignore[arg-type]
        dry_run=False,
        plan=lambda client: calls.append("plan") or _actions(),
        handlers={"custom-data": handler},
        **{**_hooks(calls), **hooks},
    )


def test_a_real_run_takes_the_lock_then_calls_every_hook_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []
    _real_run(calls, _created)
    assert calls == [
        "lock",
        "client",
        "plan",
        "before_writes 2",
        "settle",
        "after_writes 2",
        "report",
        "summary",
        "exit_code",
    ]
    assert "Warning: a warning" in capsys.readouterr().err


def test_a_dry_run_takes_no_lock_and_only_shows_the_plan() -> None:
    calls: list[str] = []
    run_actions(
        State(calls),  # type: ignore[arg-type]
        dry_run=True,
        plan=lambda client: _actions(),
        handlers={"custom-data": _created},
        show_plan=lambda client, actions: calls.append(f"show_plan {len(actions)}"),
        **_hooks(calls),
    )
    assert calls == ["client", "show_plan 2"]


def test_the_default_dry_run_prints_the_envelope_with_the_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_actions(
        State([], json_mode=True),  # type: ignore[arg-type]
        dry_run=True,
        plan=lambda client: _actions(),
        handlers={},
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True
    assert [i["state"] for i in doc["items"]] == ["planned", "unchanged"]
    assert doc["requests"][0]["url"] == "https://api.test/custom-datas"


def test_a_failed_item_exits_with_its_code_before_the_commands_own() -> None:
    calls: list[str] = []
    with pytest.raises(typer.Exit) as exited:
        _real_run(calls, _failed)
    assert exited.value.exit_code == ExitCode.API
    assert calls[-1] == "summary"  # exit_code() is not asked


def test_the_commands_own_exit_code_comes_last() -> None:
    with pytest.raises(typer.Exit) as exited:
        _real_run([], _created, exit_code=lambda: 9)
    assert exited.value.exit_code == 9


def test_each_failure_is_said_before_the_summary_even_when_ctrl_c_ends_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """apply's summary exits 130 after Ctrl-C: the failures must already be on stderr."""

    def failed_then_stopped(client: Any, action: Action) -> ActionResult:
        interrupt.request_stop()
        return _failed(client, action)

    def summary(results: Any) -> None:
        print("the summary", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERRUPTED))

    with pytest.raises(typer.Exit):
        _real_run([], failed_then_stopped, summary=summary)
    err = capsys.readouterr().err
    assert "refused" in err and err.index("refused") < err.index("the summary")


def test_ctrl_c_during_the_writes_exits_130_after_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []

    def stopped(client: Any, action: Action) -> ActionResult:
        interrupt.request_stop()
        return _created(client, action)

    with pytest.raises(typer.Exit) as exited:
        _real_run(calls, stopped)
    assert exited.value.exit_code == ExitCode.INTERRUPTED
    assert calls[-1] == "summary"
    assert "Interrupted (Ctrl-C): 1 write(s) done" in capsys.readouterr().err


def test_run_plan_plans_the_projects_given_and_prints_the_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []
    notes: list[int] = []
    run_plan(
        State(calls),  # type: ignore[arg-type]
        project=["ABCDE12345"],
        all_projects=False,
        dry_run=False,
        plan=lambda client, sites: [a for a in _actions() if a.site in sites],
        handlers={"custom-data": _created},
        notes=lambda results: notes.append(len(results)),
    )
    assert calls == ["lock", "client", "projects ['ABCDE12345'] all=False"]
    captured = capsys.readouterr()
    assert "1 created, 1 unchanged." in captured.err
    assert "RESULT" in captured.out
    assert notes == [2]


def test_call_writes_says_whether_anything_was_sent_before_the_stop() -> None:
    def stop_before_sending() -> None:
        raise interrupt.not_started("anything")

    with pytest.raises(interrupt.RequestStopped) as caught:
        call_writes(stop_before_sending)
    assert caught.value.in_flight is False

    def stop_after_sending() -> None:
        interrupt.note_sent()
        raise interrupt.not_started("the rest")

    with pytest.raises(interrupt.RequestStopped) as caught:
        call_writes(stop_after_sending)
    assert caught.value.in_flight is True
    assert call_writes(lambda: 42) == 42
