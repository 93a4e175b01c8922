"""--trace FILE / KSEG_TRACE: one JSON line per HTTP attempt, secrets masked.

Unit tests drive HttpClient against respx with a Tracer; the end-to-end tests run the
real CLI against the fake server and compare the trace with what the server saw.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env

from ksegcli.core.http.client import HttpClient
from ksegcli.core.http.trace import BODY_LIMIT, SECRET_ANSWER, Tracer, secret_name
from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.core.kameleoon.client import KameleoonClient, TokenProvider
from ksegcli.core.redact import MASK, register_secret
from ksegcli.errors import ApiError, ConfigError, ExitCode, NetworkError, RunStopped

BASE = "https://api.test"
KEYS = {"time", "run", "service", "method", "url", "attempt", "status", "elapsed_ms"}
KEYS |= {"request", "response", "error"}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def tracer(tmp_path: Path) -> Any:
    t = Tracer.open(str(tmp_path / "trace.jsonl"), "--trace")
    yield t
    t.close()


def client(tracer: Tracer, **kwargs: Any) -> HttpClient:
    params: dict[str, Any] = {"label": "Automation API", "backoff": 0.001, "max_attempts": 3}
    params.update(kwargs)
    return HttpClient(BASE, trace=tracer, **params)


# -- the record -------------------------------------------------------------------------------


@respx.mock(base_url=BASE)
def test_one_line_per_exchange_with_method_url_status_timing_and_headers(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    respx_mock.get("/sites").mock(
        return_value=httpx.Response(200, json=[{"id": 1, "code": "ABCDE12345"}])
    )
    http = client(tracer, auth_header=lambda: {"Authorization": "Bearer tok-abc-123"})
    http.request("GET", "/sites", params={"page": 1})
    (line,) = lines(Path(tracer.path))
    assert set(line) == KEYS
    assert (line["method"], line["url"], line["status"], line["attempt"]) == (
        "GET",
        f"{BASE}/sites?page=1",
        200,
        1,
    )
    assert line["service"] == "Automation API"
    assert line["time"].endswith("Z") and line["elapsed_ms"] >= 0
    assert line["request"]["headers"]["authorization"] == f"Bearer {MASK}"
    assert line["request"]["headers"]["user-agent"].startswith("ksegcli/")
    assert line["response"]["headers"]["content-type"] == "application/json"
    assert json.loads(line["response"]["body"]) == [{"id": 1, "code": "ABCDE12345"}]
    assert line["response"]["bytes"] == len(respx_mock.calls.last.response.content)
    assert line["error"] is None
    assert "tok-abc-123" not in Path(tracer.path).read_text()


@respx.mock(base_url=BASE)
def test_token_exchange_masks_the_client_secret_and_the_access_token(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    secret, token = "cl+ient/secret-9", "at-7f3e-91"
    respx_mock.post("/oauth/token").mock(
        return_value=httpx.Response(200, json={"access_token": token, "expires_in": 60})
    )
    respx_mock.get("/sites").mock(return_value=httpx.Response(200, json=[]))
    tokens = TokenProvider(client(tracer), "cid", secret)
    api = client(tracer, auth_header=lambda: {"Authorization": f"Bearer {tokens.get()}"})
    KameleoonClient(api, tokens).list_sites()
    text = Path(tracer.path).read_text()
    token_line, sites_line = lines(Path(tracer.path))
    assert token_line["request"]["body"].endswith(f"client_secret={MASK}")
    assert "client_id=cid" in token_line["request"]["body"]
    assert json.loads(token_line["response"]["body"]) == {
        "access_token": MASK,
        "expires_in": 60,
    }
    assert sites_line["request"]["headers"]["authorization"] == f"Bearer {MASK}"
    for form in (secret, "cl%2Bient%2Fsecret-9", token):
        assert form not in text


@respx.mock(base_url=BASE)
def test_write_keys_api_keys_and_cookies_are_masked_wherever_they_are_nested(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    answer = {
        "data": {
            "sources": [
                {"id": "src1", "name": "web", "writeKeys": ["wk-one-111", "wk-two-222"]},
                {"id": "src2", "settings": {"writeKey": "wk-three-333", "other": "kept"}},
            ]
        }
    }
    respx_mock.post("/destinations").mock(
        return_value=httpx.Response(
            200,
            json=answer,
            headers={"Set-Cookie": "sid=cookie-val-1", "X-Api-Key": "hdr-key-77"},
        )
    )
    http = client(tracer)
    http.request(
        "POST",
        "/destinations",
        json_body={"settings": {"apiKey": "kam-api-key-5", "sitecode": "ABCDE12345"}},
        headers={"Cookie": "sid=cookie-val-2"},
    )
    text = Path(tracer.path).read_text()
    for value in ("wk-one-111", "wk-two-222", "wk-three-333", "kam-api-key-5", "cookie-val"):
        assert value not in text, value
    assert "hdr-key-77" not in text
    (line,) = lines(Path(tracer.path))
    body = json.loads(line["response"]["body"])
    assert body["data"]["sources"][0]["writeKeys"] == [MASK, MASK]
    assert body["data"]["sources"][1]["settings"] == {"writeKey": MASK, "other": "kept"}
    sent = json.loads(line["request"]["body"])
    assert sent == {"settings": {"apiKey": MASK, "sitecode": "ABCDE12345"}}
    assert line["response"]["headers"]["set-cookie"] == MASK
    assert line["response"]["headers"]["x-api-key"] == MASK
    assert line["request"]["headers"]["cookie"] == MASK


@respx.mock(base_url=BASE)
def test_a_known_secret_is_redacted_anywhere_raw_or_url_encoded(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    register_secret("sgp_tok+en/4242")
    respx_mock.get("/echo").mock(
        return_value=httpx.Response(
            400, text="bad token sgp_tok+en/4242 (sent as sgp_tok%2Ben%2F4242)"
        )
    )
    with pytest.raises(ApiError):
        client(tracer).request("GET", "/echo", params={"q": "sgp_tok+en/4242"})
    text = Path(tracer.path).read_text()
    assert "sgp_tok" not in text
    (line,) = lines(Path(tracer.path))
    assert line["status"] == 400
    assert line["response"]["body"] == f"bad token {MASK} (sent as {MASK})"


@respx.mock(base_url=BASE)
def test_secret_query_parameters_are_masked_and_others_kept(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    respx_mock.get("/getapikey").mock(return_value=httpx.Response(200, text="the-api-key-xyz"))
    client(tracer).request(
        "GET", "/getapikey", params={"id": "cid-4", "secret": "q-secret-1"}, secret_answer=True
    )
    (line,) = lines(Path(tracer.path))
    assert line["url"] == f"{BASE}/getapikey?id=cid-4&secret={MASK}"
    # The answer is the key itself: its length only.
    assert line["response"]["body"] == SECRET_ANSWER
    assert line["response"]["bytes"] == len("the-api-key-xyz")
    assert "the-api-key-xyz" not in Path(tracer.path).read_text()


@respx.mock(base_url=BASE)
def test_a_secret_answers_refusal_is_recorded(respx_mock: respx.MockRouter, tracer: Tracer) -> None:
    """Only a 2xx answer of a secret-answer request is withheld: the refusal is evidence."""
    respx_mock.get("/getapikey").mock(return_value=httpx.Response(403, text="Access denied"))
    with pytest.raises(ApiError):
        client(tracer).request("GET", "/getapikey", secret_answer=True)
    (line,) = lines(Path(tracer.path))
    assert (line["status"], line["response"]["body"]) == (403, "Access denied")


@respx.mock(base_url=BASE)
def test_long_bodies_are_cut_with_a_marker_and_the_original_length(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    big = "x" * 10_000
    respx_mock.post("/script").mock(return_value=httpx.Response(200, text=big))
    client(tracer).request("POST", "/script", content="y" * 5000)
    (line,) = lines(Path(tracer.path))
    for part, size in ((line["response"], 10_000), (line["request"], 5000)):
        assert part["truncated"] is True
        assert part["bytes"] == size
        assert part["body"].endswith(f"… [truncated: the body had {size} bytes]")
        assert len(part["body"]) < BODY_LIMIT + 60


@respx.mock(base_url=BASE)
def test_timeouts_and_retries_are_each_traced_with_their_error(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    respx_mock.get("/sites").mock(
        side_effect=[
            httpx.ReadTimeout("timed out"),
            httpx.Response(503, json={"message": "busy"}),
            httpx.ConnectError("refused"),
        ]
    )
    with pytest.raises(NetworkError):
        client(tracer, max_attempts=3).request("GET", "/sites")
    got = lines(Path(tracer.path))
    assert [(x["attempt"], x["status"]) for x in got] == [(1, None), (2, 503), (3, None)]
    assert got[0]["error"].startswith("timeout: ")
    assert got[0]["response"] is None
    assert got[1]["error"] is None
    assert got[2]["error"].startswith("ConnectError: ")


@respx.mock(base_url=BASE)
def test_an_abandoned_write_is_traced_once_with_its_error(
    respx_mock: respx.MockRouter, tracer: Tracer
) -> None:
    """A POST whose answer was lost is not sent again; the trace says what happened."""
    respx_mock.post("/custom-datas").mock(side_effect=httpx.RemoteProtocolError("closed"))
    with pytest.raises(NetworkError):
        client(tracer).request("POST", "/custom-datas", json_body={"name": "n"})
    (line,) = lines(Path(tracer.path))
    assert (line["method"], line["status"]) == ("POST", None)
    assert line["error"].startswith("RemoteProtocolError: ")
    assert json.loads(line["request"]["body"]) == {"name": "n"}


def test_secret_names() -> None:
    for name in ("client_secret", "access_token", "apiKey", "writeKeys", "X-Auth-Token"):
        assert secret_name(name), name
    for name in ("token_type", "tokenType", "name", "key", "trackingTools", "siteCode"):
        assert not secret_name(name), name


# -- the file ---------------------------------------------------------------------------------


def test_a_new_trace_file_is_0600_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    new = tmp_path / "new.jsonl"
    Tracer.open(str(new), "--trace").close()
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    old = tmp_path / "old.jsonl"
    old.write_text('{"earlier": true}\n')
    old.chmod(0o640)
    Tracer.open(str(old), "--trace").close()
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    assert old.read_text() == '{"earlier": true}\n'  # appended to, never truncated


@pytest.mark.parametrize("where", ["folder", "missing/parent/t.jsonl", ""])
def test_an_unusable_path_is_a_config_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigError) as err:
        Tracer.open(str(tmp_path / where) if where else "", "KSEG_TRACE=x")
    assert err.value.exit_code == ExitCode.CONFIG
    assert "KSEG_TRACE=x" in err.value.message


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_write_failure_stops_the_run_with_a_config_error() -> None:
    tracer = Tracer.open("/dev/full", "--trace")
    request = httpx.Request("GET", f"{BASE}/sites")
    with pytest.raises(RunStopped) as stop:
        tracer.record("Automation API", request, httpx.Response(200), attempt=1, started=0.0)
    tracer.close()
    assert isinstance(stop.value.error, ConfigError)
    assert "Cannot write the trace file /dev/full" in stop.value.error.message


# -- the real CLI against the fake server -----------------------------------------------------


def test_cli_trace_has_one_line_per_request_the_server_saw(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    fake.add_site(CLIENT_ID, code="TRACEDSITE")
    trace = tmp_path / "run.jsonl"
    result = proc("projects", "list", "--trace", str(trace), env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    got = lines(trace)
    seen = [(r.method, r.path, r.status) for r in fake.requests]
    assert [(x["method"], x["url"].split("?")[0].split(fake.url)[1], x["status"]) for x in got] == (
        seen
    )
    assert [x["method"] for x in got] == ["POST", "GET"]
    assert len({x["run"] for x in got}) == 1
    assert "TRACEDSITE" in got[1]["response"]["body"]
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    text = trace.read_text()
    assert CLIENT_SECRET not in text
    assert not any(token in text for token in fake.state.tokens)
    assert result.stdout and "TRACEDSITE" in result.stdout  # the run itself is unchanged


def test_cli_trace_from_the_env_var_appends_each_run(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    trace = tmp_path / "env.jsonl"
    env = {**fake_env(fake), "KSEG_TRACE": str(trace)}
    for _ in range(2):
        assert proc("projects", "list", "--json", env=env).exit_code == 0
    got = lines(trace)
    assert len(got) == len(fake.requests) >= 3  # the second run reuses the cached token
    assert len({x["run"] for x in got}) == 2


def test_cli_trace_shows_faults_and_retries(fake: Any, proc: ProcRunner, tmp_path: Path) -> None:
    fake.add_site(CLIENT_ID, code="FAULTSITE1")
    fake.inject("GET", r"^/sites$", "503", count=1)
    fake.inject("GET", r"^/sites$", "drop_before", count=1)
    trace = tmp_path / "faults.jsonl"
    result = proc("projects", "list", "--trace", str(trace), env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    sites = [x for x in lines(trace) if x["url"].split("?")[0].endswith("/sites")]
    assert [(x["attempt"], x["status"]) for x in sites] == [(1, 503), (2, None), (3, 200)]
    assert "Service temporarily unavailable" in sites[0]["response"]["body"]
    assert sites[1]["error"] and sites[1]["response"] is None
    assert sites[2]["error"] is None


def test_cli_trace_never_holds_the_api_key_answer(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    trace = tmp_path / "key.jsonl"
    result = proc(
        "auth", "getapikey", "--no-store", "--show", "--trace", str(trace), env=fake_env(fake)
    )
    assert result.exit_code == 0, result.stderr
    key = derive_api_key(CLIENT_ID, CLIENT_SECRET)
    assert key in result.stdout  # --show prints it; the trace never does
    (line,) = lines(trace)
    assert line["service"] == "API-key service"
    assert line["response"]["body"] == SECRET_ANSWER
    assert key not in trace.read_text() and CLIENT_SECRET not in trace.read_text()


@pytest.mark.parametrize(
    ("how", "needle"),
    [("flag", "--trace"), ("env", "KSEG_TRACE=")],
)
def test_cli_unusable_trace_path_is_exit_7_naming_its_origin(
    fake: Any, proc: ProcRunner, tmp_path: Path, how: str, needle: str
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args: tuple[str, ...] = ("projects", "list")
    env = fake_env(fake)
    if how == "flag":
        args += ("--trace", str(folder))
    else:
        env["KSEG_TRACE"] = str(folder)
    result = proc(*args, env=env)
    assert result.exit_code == ExitCode.CONFIG, result.stderr
    assert needle in result.stderr and "it is a folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not fake.requests  # refused before anything was sent


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_cli_trace_write_failure_is_exit_7_without_traceback(fake: Any, proc: ProcRunner) -> None:
    for extra in ((), ("--json",)):
        result = proc("projects", "list", "--trace", "/dev/full", *extra, env=fake_env(fake))
        assert result.exit_code == ExitCode.CONFIG, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        if extra:
            doc = json.loads(result.stdout)
            assert doc["error"]["code"] == "config"
            assert "Cannot write the trace file /dev/full" in doc["error"]["message"]
        else:
            assert "Cannot write the trace file /dev/full" in result.stderr
    assert len(fake.requests) == 2  # stopped at the first exchange, each run


@pytest.mark.skipif(not hasattr(os, "setpgid"), reason="needs POSIX resource limits")
def test_cli_trace_full_mid_apply_stops_every_worker_with_exit_7(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    """The file fills up while apply's workers write: the run ends with one config error,
    no traceback, no item reported done after the trace stopped."""
    import resource
    import signal
    import subprocess
    import sys

    path = tmp_path / "account.toml"
    trace = tmp_path / "full.jsonl"
    limit = 8_000  # a few lines in: past the token and the project list

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    for extra in ((), ("--json",)):
        trace.unlink(missing_ok=True)
        fake.clear_requests()
        codes = [fake.add_site(CLIENT_ID, name=f"P{n}{extra}")["code"] for n in range(4)]
        path.write_text(
            "[defaults]\ntraits = ['a', 'b']\n" + "".join(f"[projects.{c}]\n" for c in codes)
        )
        trace_args = ("--trace", str(trace), *extra)
        done = subprocess.run(
            [sys.executable, "-m", "ksegcli", "apply", str(path), "--workers", "4", *trace_args],
            env={**proc.env, **fake_env(fake)},
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=small_files,  # the child's own limit: set between fork and exec
        )
        assert done.returncode == ExitCode.CONFIG, (done.stdout, done.stderr)
        both = done.stdout + done.stderr
        assert "Traceback" not in both and "Internal error" not in both
        assert both.count("Cannot write the trace file") == 1, both
        if extra:
            assert json.loads(done.stdout)["error"]["code"] == "config"
        got = lines(trace)  # the line that did not fit was cut away whole
        assert got and trace.stat().st_size <= limit
        assert trace.read_text().endswith("\n")
        assert len(got) < len(fake.requests)  # the exchange that did not fit is not in it


def test_an_empty_kseg_trace_means_no_trace_and_a_blank_one_is_refused(
    proc: ProcRunner,
) -> None:
    env = {"KAMELEOON_SITECODE": "ABCDE12345"}
    assert proc("sitecode", "show", env={**env, "KSEG_TRACE": ""}).exit_code == 0
    blank = proc("sitecode", "show", env={**env, "KSEG_TRACE": " "})
    assert blank.exit_code == ExitCode.CONFIG
    assert "KSEG_TRACE=  names no file." in blank.stderr
