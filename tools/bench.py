"""The benchmark: size, init, memory and sweeps of each function; access-keys beside Custodian.

For each function it reports:

* the release binary's size (the workspace release profile strips it), and the size of any arm64
  build found in the same target directory;
* init time: from spawning the binary with the environment Lambda gives it until its runtime
  first asks the Runtime API for an event (`GET /2018-06-01/runtime/invocation/next`), the
  median of several cold starts, and the peak memory (VmHWM) of the process at that point;
* at each latency (`--latency-ms`, 0 and 50 ms by default: every AWS call answered that much later, by the test
  bed's threaded server, so calls in flight overlap as on a real endpoint), a sweep (the
  function's `events/<function>/scheduled.json`) of a local account (moto, through the test-only
  wrapper `tests/moto/server.py`) seeded with 5,000 users, about 10% of them offenders for each
  function: wall time from the event's delivery to the function's answer, the IAM calls it made
  by action (the wrapper's `GET /_test/calls`), and the process's peak memory (VmHWM); then the
  same sweep again on the account it left (what every later scheduled run costs);
* with `--resume FUNCTIONS`: on a freshly seeded account, a sweep whose budget is too short for
  it (it stops reading and changing before its deadline), then the usual sweeps until nothing is
  left, showing that the next run continues where the last one stopped.

Then, at each latency and for each size in `--compare-users` (500 and 5,000 users, one in ten
with an active key older than 90 days, everyone else a fresh key in use): access-keys' sweep
from spawning its process to its answer (a cold start), its IAM calls by action, the re-run
right after, and then Cloud Custodian (`custodian run`, tools/custodian-policy.yml: the same
rule) on an identically seeded fresh account, from spawning `custodian` to its exit, with its
calls counted the same way. After each, the account's keys are read back (the credential report)
to check that exactly the old keys were deactivated, by either tool.

The Lambda Runtime API is served by this script (cargo-lambda's emulator does not say when a
runtime first polls): a small `http.server` that answers `invocation/next` with Lambda's headers
(request ID, a deadline 15 minutes away, function ARN, trace ID) and records the response or
error the function posts. Run it with `scripts/bench` (which builds the release binaries and
installs Cloud Custodian in `.venv-custodian` first); `--help` lists the knobs. It prints
Markdown tables (BENCHMARKS.md holds a measured set) and writes the raw numbers as JSON. While it
runs, it watches the machine's load and whether cargo or rustc runs (someone else's build or test
run), and says so at the end: numbers taken next to a build are not worth much.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from local_lambda import FUNCTIONS, ROOT, TestBed, vm_hwm_kib

NOW = datetime.now(timezone.utc)
ACCOUNT_ID = "123456789012"
EXEMPT_TAG = "iam-remediation:exempt"
READ_PREFIXES = ("Get", "List", "Generate", "Simulate")
DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::reports/*"}],
    }
)
# The targets of issue 8.
TARGET_INIT_MS = 20.0
TARGET_MEMORY_MIB = 32.0
TARGET_BINARY_MIB = 8.0
TARGET_FIXED_CALLS = 20
TARGET_CALLS_PER_OFFENDER = 3
# The targets of issue 16, for access-keys at 50 ms per call on 500 users (50 offending keys): a
# sweep (cold start included) within its IAM calls × latency / 3 + 0.5 s, at least 10 times
# faster than Cloud Custodian, a re-run of at most 10 IAM calls, at most 3 IAM calls per
# offending key.
TARGET_CELL = (50.0, 500)
TARGET_OVERLAP = 3
TARGET_SLACK_S = 0.5
TARGET_SPEEDUP = 10
TARGET_RERUN_CALLS = 10
TARGET_CALLS_PER_KEY = 3
# The comparison's rule, in both tools: an active key older than this is deactivated.
MAX_KEY_AGE_DAYS = 90
CUSTODIAN_POLICY = ROOT / "tools" / "custodian-policy.yml"
# IAM reads of the whole account, made once per run whatever the number of offenders.
ACCOUNT_WIDE_READS = {
    "GenerateCredentialReport",
    "GetCredentialReport",
    "GetAccountAuthorizationDetails",
    "GetAccountSummary",
    "ListUsers",
}


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def target_dir() -> Path:
    """Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace, where
    scripts/bench runs cargo), else `target/`."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return ROOT / configured if configured else ROOT / "target"


# -- the accounts ----------------------------------------------------------------------------


def account(users: int) -> tuple[list[dict], dict[str, int]]:
    """The seeded account: `users` users, one in ten an offender for each function.

    User i (names `user-00000`…):
    * access keys: every user but those with i % 10 == 9 has one active key. i % 10 == 0 is an
      offender: a key 200 days old, used yesterday (i % 20 == 0) or last used 120 days ago
      (i % 20 == 10); one in ten of those also has a second, young key in use (so its last use is
      read live). Everyone else's key is 1 to 80 days old and was used in the last week (or, for a
      few, never: still young enough).
    * console passwords: i % 10 == 1 is an offender, a password never used (i % 20 == 1) or last
      used 150 days ago; i % 10 in (2, 3) has one used 3 days ago.
    * inline policies: i % 10 == 2 has one inline policy.
    * i % 1000 == 0 (five of the key offenders in 5,000) is exempt (tag `iam-remediation:exempt`).
    Every user was created 100 to 500 days ago. The password policy is weak (length 8, numbers).
    """
    specs = []
    offenders = {name: 0 for name in FUNCTIONS}
    offenders["password-policy"] = 1
    for i in range(users):
        spec: dict = {"user_name": f"user-{i:05d}", "create_date": ago(100 + i % 400)}
        if i % 1000 == 0:
            spec["tags"] = {EXEMPT_TAG: "true", "team": "platform"}
        elif i % 7 == 0:
            spec["tags"] = {"team": "data"}
        keys = []
        if i % 10 == 0:
            offenders["access-keys"] += 1
            keys.append({"create_date": ago(200), "last_used": ago(1 if i % 20 == 0 else 120)})
            if i % 100 == 0:
                keys.append({"create_date": ago(20), "last_used": ago(2)})
        elif i % 10 != 9:
            keys.append({"create_date": ago(1 + i % 80), "last_used": None if i % 50 == 3 else ago(i % 7)})
        spec["access_keys"] = keys
        if i % 10 == 1:
            offenders["console-passwords"] += 1
            spec["password"] = "Bench-Pa55word!"
            if i % 20 == 11:
                spec["password_last_used"] = ago(150)
        elif i % 10 in (2, 3):
            spec["password"] = "Bench-Pa55word!"
            spec["password_last_used"] = ago(3)
        if i % 10 == 2:
            offenders["inline-policies"] += 1
            spec["inline_policies"] = {"read-reports": DOCUMENT}
        specs.append(spec)
    return specs, offenders


def comparison_account(users: int) -> tuple[list[dict], int]:
    """The account access-keys and Cloud Custodian both clean: `users` users with one active key
    each. One in ten (i % 10 == 0) is an offender, its key 100 to 290 days old and used yesterday
    (only its age is wrong, which is all Custodian's policy judges); everyone else's key is 1 to
    80 days old and was used in the last week. No exemptions, passwords or inline policies."""
    specs = []
    offenders = 0
    for i in range(users):
        if i % 10 == 0:
            offenders += 1
            key = {"create_date": ago(100 + i % 200), "last_used": ago(1)}
        else:
            key = {"create_date": ago(1 + i % 80), "last_used": ago(i % 7)}
        specs.append({"user_name": f"user-{i:05d}", "create_date": ago(100 + i % 400), "access_keys": [key]})
    return specs, offenders


def seed_users(bed: TestBed, specs: list[dict]) -> None:
    """Creates the users through the wrapper's bulk endpoint (`POST /_test/seed-users`): 5,000
    users take half a second, where the IAM API, one call at a time, would take minutes."""
    for chunk in range(0, len(specs), 1000):
        bed.control("POST", "/_test/seed-users", {"users": specs[chunk : chunk + 1000]})


def seed(bed: TestBed, users: int) -> tuple[dict[str, int], float]:
    """Seeds the account of `account`; returns offenders and seconds."""
    started = time.monotonic()
    specs, offenders = account(users)
    seed_users(bed, specs)
    bed.client("iam").update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True)
    return offenders, time.monotonic() - started


def set_latency(bed: TestBed, ms: float) -> None:
    """Every AWS call to the test bed is answered `ms` later from now on (its control calls are
    not)."""
    bed.control("POST", "/_test/latency", {"ms": ms})


def key_states(bed: TestBed, latency_ms: float) -> dict[str, int]:
    """Every access key's state, read back from IAM (GenerateCredentialReport and
    GetCredentialReport: moto builds the report from the live state), counted as active or
    inactive, older than `MAX_KEY_AGE_DAYS` or not. Read at 0 ms latency, then the latency is
    restored."""
    set_latency(bed, 0)
    try:
        iam = bed.client("iam")
        iam.generate_credential_report()
        content = iam.get_credential_report()["Content"]
    finally:
        set_latency(bed, latency_ms)
    now = datetime.now(timezone.utc)
    counts = {"old_active": 0, "old_inactive": 0, "fresh_active": 0, "fresh_inactive": 0}
    text = content.decode() if isinstance(content, bytes) else content
    for row in csv.DictReader(io.StringIO(text)):
        if row["user"] == "<root_account>":
            continue
        for slot in ("1", "2"):
            created = row[f"access_key_{slot}_last_rotated"]
            if created in ("N/A", "not_supported", ""):
                continue
            age = now - datetime.fromisoformat(created.replace("Z", "+00:00"))
            old = "old" if age > timedelta(days=MAX_KEY_AGE_DAYS) else "fresh"
            active = "active" if row[f"access_key_{slot}_active"] == "true" else "inactive"
            counts[f"{old}_{active}"] += 1
    return counts


def cleaned(states: dict[str, int], users: int, offenders: int) -> bool:
    """Exactly the old keys were deactivated, and every fresh key is still active."""
    return states == {
        "old_active": 0,
        "old_inactive": offenders,
        "fresh_active": users - offenders,
        "fresh_inactive": 0,
    }


# -- a minimal Lambda Runtime API ------------------------------------------------------------


class Session:
    """One process's conversation with the Runtime API."""

    def __init__(self, function: str, budget_ms: int) -> None:
        self.function = function
        self.budget_ms = budget_ms
        self.events: queue.Queue = queue.Queue()
        self.closed = False
        self.ready = threading.Event()  # first GET /next, or an init error
        self.done = threading.Event()  # a response or an error was posted
        self.first_next_at: float | None = None
        self.delivered_at: float | None = None
        self.finished_at: float | None = None
        self.request_id: str | None = None
        self.outcome: str | None = None  # "response", "error", "init-error"
        self.body: bytes = b""


class RuntimeApi:
    """Lambda's Runtime API (2018-06-01), enough of it for one function process at a time."""

    def __init__(self, stack: ExitStack) -> None:
        api = self
        self.session = Session("none", 0)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self._reply(404, b'{"errorMessage":"unknown path"}')
                    return
                session = api.session
                if session.first_next_at is None:
                    session.first_next_at = time.monotonic()
                    session.ready.set()
                while True:
                    if session.closed:
                        self.close_connection = True
                        return
                    try:
                        event = session.events.get(timeout=0.2)
                        break
                    except queue.Empty:
                        continue
                request_id = str(uuid.uuid4())
                session.request_id = request_id
                deadline_ms = int(time.time() * 1000) + session.budget_ms
                body = json.dumps(event).encode()
                session.delivered_at = time.monotonic()
                self._reply(
                    200,
                    body,
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": (
                            f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{session.function}"
                        ),
                        "Lambda-Runtime-Trace-Id": (
                            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
                        ),
                    },
                )

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                session = api.session
                parts = self.path.strip("/").split("/")
                if self.path == "/2018-06-01/runtime/init/error":
                    outcome = "init-error"
                elif len(parts) == 5 and parts[:3] == ["2018-06-01", "runtime", "invocation"] and parts[4] in (
                    "response",
                    "error",
                ):
                    outcome = parts[4]
                else:
                    self._reply(404, b'{"errorMessage":"unknown path"}')
                    return
                session.finished_at = time.monotonic()
                session.outcome = outcome
                session.body = body
                self._reply(202, b'{"status":"OK"}')
                session.ready.set()
                session.done.set()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                # A function process killed mid-request (the benchmark ends every process it
                # starts) resets its connection: expected, not worth a traceback.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        stack.callback(self.stop)
        self.address = f"127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.session.closed = True
        self.server.shutdown()
        self.server.server_close()

    def new_session(self, function: str, budget_ms: int) -> Session:
        self.session.closed = True
        self.session = Session(function, budget_ms)
        return self.session


# -- one function process --------------------------------------------------------------------


def lambda_env(function: str, api: RuntimeApi, bed: TestBed, max_actions: int) -> dict[str, str]:
    """The environment Lambda gives a function (as tools/local_lambda.py's Function does), the
    test bed's AWS settings, and a MAX_ACTIONS large enough for the sweep."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "TZ": ":UTC",
        **bed.aws_env(),
        "MAX_ACTIONS": str(max_actions),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Process:
    """A function binary run as Lambda runs it, talking to `api`."""

    def __init__(self, binary: Path, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.spawned_at = time.monotonic()
        self.popen = subprocess.Popen([str(binary)], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        self.log.close()


def wait_ready(session: Session, process: Process, timeout: float = 30.0) -> None:
    if not session.ready.wait(timeout):
        raise RuntimeError(f"{session.function} never polled the Runtime API within {timeout}s")
    if session.outcome == "init-error":
        raise RuntimeError(f"{session.function} failed its init: {session.body.decode(errors='replace')}")


def measure_init(
    function: str, binary: Path, api: RuntimeApi, env: dict[str, str], reps: int, log: Path
) -> dict:
    """Cold starts: spawn -> first GET /next, and VmHWM at that point, `reps` times."""
    init_ms, memory_kib = [], []
    for _ in range(reps):
        session = api.new_session(function, 900_000)
        process = Process(binary, env, log)
        try:
            wait_ready(session, process)
            init_ms.append((session.first_next_at - process.spawned_at) * 1000)
            memory_kib.append(vm_hwm_kib(process.popen.pid) or 0)
        finally:
            session.closed = True
            process.stop()
    return {
        "init_ms": init_ms,
        "init_ms_median": statistics.median(init_ms),
        "init_memory_kib_median": statistics.median(memory_kib),
    }


def sweep(
    function: str,
    binary: Path,
    api: RuntimeApi,
    bed: TestBed,
    env: dict[str, str],
    timeout: float,
    log: Path,
    budget_ms: int = 900_000,
) -> dict:
    """One scheduled sweep by a freshly started process: wall time (from the event's delivery, and
    from spawning the process: a cold invocation, init included), calls, VmHWM, report."""
    event = json.loads((ROOT / "events" / function / "scheduled.json").read_text())
    bed.reset_calls()
    session = api.new_session(function, budget_ms)
    # The event is waiting when the process first asks for one, as on a cold Lambda invocation:
    # spawn to answer is the whole cold run.
    session.events.put(event)
    process = Process(binary, env, log)
    try:
        wait_ready(session, process)
        # Lambda ends an invocation at its deadline: so does the benchmark, when it is the shorter.
        killed = budget_ms / 1000 < timeout and not session.done.wait(budget_ms / 1000)
        if not killed and not session.done.wait(timeout):
            raise RuntimeError(f"{function}'s sweep did not finish within {timeout}s")
        memory = vm_hwm_kib(process.popen.pid)
        cpu = cpu_seconds(process.popen.pid)
        init = session.first_next_at - process.spawned_at
        if killed:
            session.outcome = "killed at the deadline"
            wall = budget_ms / 1000
            cold = init + wall
        else:
            wall = session.finished_at - session.delivered_at
            cold = session.finished_at - process.spawned_at
    finally:
        session.closed = True
        process.stop()
    calls = bed.calls()
    body = json.loads(session.body or b"null")
    result = {
        "outcome": session.outcome,
        "wall_s": wall,
        "init_s": init,
        "cold_wall_s": cold,
        "peak_memory_kib": memory,
        "cpu_s": cpu,
        "calls": dict(sorted(calls.items())),
    }
    if session.outcome == "response":
        result["report"] = summarise(body)
    else:
        result["error"] = body
    return result


def summarise(report: dict) -> dict:
    statuses: dict[str, int] = {}
    stopped = 0
    for action in report.get("actions", []):
        key = f"{action['action']} {action['status']}"
        statuses[key] = statuses.get(key, 0) + 1
        stopped += "stopped before the Lambda timeout" in action.get("reason", "")
    unread = 0
    for note in report.get("notes", []):
        if note.startswith("stopped reading before the Lambda timeout"):
            unread += int("".join(c for c in note.split(":", 1)[1].split("candidates")[0] if c.isdigit()) or 0)
    return {
        "examined": report.get("examined"),
        "actions": statuses,
        "applied": sum(v for k, v in statuses.items() if k.endswith(" applied")),
        "stopped_before_deadline": stopped,
        "unread_candidates": unread,
        "notes": report.get("notes", []),
        "errors": report.get("errors", []),
    }


def resume(
    function: str,
    binary: Path,
    api: RuntimeApi,
    users: int,
    latency_ms: float,
    max_actions: int,
    budget_ms: int,
    timeout: float,
    log: Path,
) -> dict:
    """A sweep with too short a budget on a freshly seeded account, then sweeps with the usual one
    until nothing is left: the first stops before its deadline, the next ones finish the work."""
    runs = []
    with ExitStack() as stack:
        bed = TestBed(stack)
        offenders, _ = seed(bed, users)
        set_latency(bed, latency_ms)
        env = lambda_env(function, api, bed, max_actions)
        for budget in (budget_ms, 900_000, 900_000, 900_000):
            run = sweep(function, binary, api, bed, env, timeout, log, budget)
            run["budget_ms"] = budget
            runs.append(run)
            report = run.get("report")
            print(
                f"{function} resume at {latency_ms:g} ms: budget {budget / 1000:.1f}s: {run['outcome']} in "
                f"{run['wall_s']:.2f}s, "
                + (
                    f"{report['applied']} applied, {report['stopped_before_deadline']} planned changes and "
                    f"{report['unread_candidates']} unread candidates left for the next run"
                    if report
                    else "no report"
                ),
                flush=True,
            )
            if budget != budget_ms and report and report["applied"] == 0:
                break
    return {"offenders": offenders[function], "runs": runs}


# -- side by side with Cloud Custodian -------------------------------------------------------


def custodian_env(bed: TestBed, home: Path) -> dict[str, str]:
    """Custodian's environment: the test bed's endpoint (boto3 honours AWS_ENDPOINT_URL) and dummy
    credentials; no AWS configuration or instance metadata of this machine."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        **bed.aws_env(),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def run_custodian(custodian: Path, bed: TestBed, workdir: Path, timeout: float) -> dict:
    """`custodian run` of tools/custodian-policy.yml against the test bed: wall time from
    spawning it to its exit, its calls by action, and what its own records say (the policy's
    execution time, the users it matched)."""
    home = Path(tempfile.mkdtemp(prefix="custodian-", dir=workdir))
    output = home / "output"
    command = [
        str(custodian),
        "run",
        "--cache-period",
        "0",  # no resource cache: every run reads the account it is given
        "--region",
        "us-east-1",
        "--output-dir",
        str(output),
        str(CUSTODIAN_POLICY),
    ]
    bed.reset_calls()
    started = time.monotonic()
    done = subprocess.run(command, env=custodian_env(bed, home), capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    calls = bed.calls()
    (home / "custodian.log").write_text(done.stdout + done.stderr)
    result: dict = {"wall_s": wall, "calls": dict(sorted(calls.items())), "exit_code": done.returncode}
    metadata = sorted(output.glob("*/metadata.json"))
    if done.returncode != 0 or not metadata:
        result["error"] = (done.stdout + done.stderr)[-2000:]
        return result
    meta = json.loads(metadata[0].read_text())
    result["policy_s"] = (meta.get("execution") or {}).get("duration")
    result["matched_users"] = len(json.loads((metadata[0].parent / "resources.json").read_text()))
    result["metrics"] = {m["MetricName"]: m["Value"] for m in meta.get("metrics", []) if "MetricName" in m}
    # Custodian's own count of its calls, to check the test bed's against.
    result["api_stats"] = meta.get("api-stats", {})
    return result


def compare(
    binary: Path,
    api: RuntimeApi,
    custodian: Path | None,
    users: int,
    latency_ms: float,
    max_actions: int,
    timeout: float,
    custodian_timeout: float,
    log: Path,
    workdir: Path,
) -> dict:
    """access-keys, then Cloud Custodian, each on a freshly seeded copy of the comparison account."""
    specs, offenders = comparison_account(users)
    result: dict = {"users": users, "offenders": offenders, "latency_ms": latency_ms}
    label = f"{users} users at {latency_ms:g} ms"
    with ExitStack() as stack:
        bed = TestBed(stack)
        seed_users(bed, specs)
        set_latency(bed, latency_ms)
        env = lambda_env("access-keys", api, bed, max_actions)
        for key in ("ours", "rerun"):
            run = result[key] = sweep("access-keys", binary, api, bed, env, timeout, log)
            print(
                f"compare {label}: access-keys {'re-run' if key == 'rerun' else 'sweep'} {run['outcome']} in "
                f"{run['cold_wall_s']:.2f}s from spawn (init {run['init_s'] * 1000:.1f} ms), "
                f"{calls_summary(run['calls'])['iam_total']} IAM calls",
                flush=True,
            )
        result["ours_keys"] = key_states(bed, latency_ms)
        result["ours_cleaned"] = cleaned(result["ours_keys"], users, offenders)
    if custodian is None:
        return result
    with ExitStack() as stack:
        bed = TestBed(stack)
        seed_users(bed, specs)
        set_latency(bed, latency_ms)
        run = result["custodian"] = run_custodian(custodian, bed, workdir, custodian_timeout)
        result["custodian_keys"] = key_states(bed, latency_ms)
        result["custodian_cleaned"] = cleaned(result["custodian_keys"], users, offenders)
    print(
        f"compare {label}: custodian "
        + (f"failed: {run['error'][-300:]}" if "error" in run else "done")
        + f" in {run['wall_s']:.2f}s, {calls_summary(run['calls'])['iam_total']} IAM calls, "
        f"keys {result['custodian_keys']}",
        flush=True,
    )
    return result


def targets(cell: dict) -> list[tuple[str, str, bool]]:
    """Issue 16's targets for one comparison: (target, measured, met)."""
    ours, rerun = cell["ours"], cell["rerun"]
    calls = calls_summary(ours["calls"])["iam_total"]
    rerun_calls = calls_summary(rerun["calls"])["iam_total"]
    latency = cell["latency_ms"] / 1000
    result = []
    if cell["latency_ms"] > 0:
        bound = calls * latency / TARGET_OVERLAP + TARGET_SLACK_S
        result.append(
            (
                f"sweep (spawn to answer) ≤ IAM calls × {cell['latency_ms']:g} ms / {TARGET_OVERLAP} + "
                f"{TARGET_SLACK_S:g} s",
                f"{ours['cold_wall_s']:.2f} s ≤ {calls} × {cell['latency_ms']:g} ms / {TARGET_OVERLAP} + "
                f"{TARGET_SLACK_S:g} s = {bound:.2f} s",
                ours["outcome"] == "response" and ours["cold_wall_s"] <= bound,
            )
        )
    custodian = cell.get("custodian")
    if custodian and "error" not in custodian:
        speedup = custodian["wall_s"] / ours["cold_wall_s"]
        result.append(
            (
                f"≥ {TARGET_SPEEDUP}× faster than Cloud Custodian",
                f"{custodian['wall_s']:.2f} s / {ours['cold_wall_s']:.2f} s = {speedup:.1f}×",
                speedup >= TARGET_SPEEDUP,
            )
        )
    result.append(
        (
            f"re-run ≤ {TARGET_RERUN_CALLS} IAM calls",
            f"{rerun_calls}",
            rerun["outcome"] == "response" and rerun_calls <= TARGET_RERUN_CALLS,
        )
    )
    # Per offending key: the calls that are not account-wide reads, per key; then all calls per key.
    fixed = sum(v for k, v in calls_summary(ours["calls"])["iam"].items() if k in ACCOUNT_WIDE_READS)
    per_key = (calls - fixed) / max(1, cell["offenders"])
    result.append(
        (
            f"≤ {TARGET_CALLS_PER_KEY} IAM calls per offending key (account-wide reads aside)",
            f"({calls} − {fixed}) / {cell['offenders']} = {per_key:.2f}",
            per_key <= TARGET_CALLS_PER_KEY,
        )
    )
    overall = calls / max(1, cell["offenders"])
    result.append(
        (
            f"≤ {TARGET_CALLS_PER_KEY} IAM calls per offending key (every call counted)",
            f"{calls} / {cell['offenders']} = {overall:.2f}",
            overall <= TARGET_CALLS_PER_KEY,
        )
    )
    return result


# -- the machine -----------------------------------------------------------------------------


#: Processes that mean someone else is building or testing on this machine: cargo (a build, or a
#: test run and the test servers it starts) and rustc.
BUSY_PROCESSES = (b"cargo", b"rustc")


def busy_processes() -> set[str]:
    """The names, among `BUSY_PROCESSES`, of the processes running now."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        name = os.path.basename(argv0)
        if name in BUSY_PROCESSES:
            found.add(name.decode())
    return found


class Watch:
    """Samples the 1-minute load average, and whether cargo or rustc runs, every second while the
    benchmark measures."""

    def __init__(self, stack: ExitStack) -> None:
        self.samples = 0
        self.busy_samples: dict[str, int] = {}
        self.max_load = os.getloadavg()[0]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        stack.callback(self.stop)

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.samples += 1
            self.max_load = max(self.max_load, os.getloadavg()[0])
            for name in busy_processes():
                self.busy_samples[name] = self.busy_samples.get(name, 0) + 1

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def summary(self) -> dict:
        return {"samples": self.samples, "busy_samples": self.busy_samples, "max_load_average": self.max_load}


def first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout.strip().splitlines() or ["unknown"])[0]


def machine(custodian: Path | None) -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        from importlib.metadata import version

        moto = version("moto")
    except Exception:  # noqa: BLE001 - informational only
        moto = "unknown"
    c7n = "not run"
    if custodian is not None:
        c7n = first_line(
            [str(custodian.parent / "python"), "-c", "from importlib.metadata import version; print(version('c7n'))"]
        )
    commit = first_line(["git", "rev-parse", "--short", "HEAD"])
    if first_line(["git", "status", "--porcelain"]) not in ("", "unknown"):
        commit += " with uncommitted changes"
    return {
        "date": NOW.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory_kib / 2**20, 1),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "rustc": first_line(["rustc", "--version"]),
        "python": platform.python_version(),
        "moto": moto,
        "c7n": c7n,
        "load_average_at_start": os.getloadavg()[0],
    }


ELF_MACHINES = {62: "x86_64", 183: "arm64"}


def elf_arch(path: Path) -> str | None:
    """The architecture an ELF executable is built for, from its header."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "other")


def arm64_builds(name: str) -> list[dict]:
    """arm64 builds of a function in the target directory: cargo-lambda's `lambda/<name>/bootstrap`
    and `aarch64-unknown-linux-gnu/release/<name>`, with their size and build time."""
    found = []
    for path in (
        target_dir() / "lambda" / name / "bootstrap",
        target_dir() / "aarch64-unknown-linux-gnu" / "release" / name,
    ):
        if path.is_file() and elf_arch(path) == "arm64":
            stat = path.stat()
            found.append(
                {
                    "path": str(path),
                    "bytes": stat.st_size,
                    "built": datetime.fromtimestamp(stat.st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                }
            )
    return found


# -- the results -----------------------------------------------------------------------------


def calls_summary(calls: dict[str, int]) -> dict:
    iam = {k.split(":", 1)[1]: v for k, v in calls.items() if k.startswith("iam:")}
    reads = sum(v for k, v in iam.items() if k.startswith(READ_PREFIXES))
    return {
        "iam": iam,
        "iam_total": sum(iam.values()),
        "iam_reads": reads,
        "iam_writes": sum(iam.values()) - reads,
        "other": {k: v for k, v in calls.items() if not k.startswith("iam:")},
    }


def by_action(calls: dict[str, int]) -> str:
    c = calls_summary(calls)
    iam = ", ".join(f"{k} {v}" for k, v in sorted(c["iam"].items(), key=lambda kv: (-kv[1], kv[0])))
    other = ", ".join(f"{k} {v}" for k, v in sorted(c["other"].items()))
    return (iam or "none") + (f"; {other}" if other else "")


def mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def start_up_table(results: dict) -> list[str]:
    if not results["functions"]:
        return []
    reps = len(next(iter(results["functions"].values()))["init"]["init_ms"])
    rows = [
        f"Start-up (init: spawn to the first `GET /runtime/invocation/next`, median of {reps} cold starts):",
        "",
        f"| function | binary x86_64, stripped | < {TARGET_BINARY_MIB:g} MiB | binary arm64 | init, median (min–max) | "
        f"< {TARGET_INIT_MS:g} ms | memory after init (VmHWM) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["functions"].items():
        init = r["init"]
        size = r["binary_bytes"]
        arm = "; ".join(f"{b['bytes'] / 2**20:.2f} MiB (`{Path(b['path']).name}`, built {b['built']})" for b in r["arm64"])
        rows.append(
            f"| `{name}` | {size / 2**20:.2f} MiB ({size:,} B) | {verdict(size < TARGET_BINARY_MIB * 2**20)} | "
            f"{arm or 'not built'} | "
            f"{init['init_ms_median']:.1f} ms ({min(init['init_ms']):.1f}–{max(init['init_ms']):.1f}) | "
            f"{verdict(init['init_ms_median'] < TARGET_INIT_MS)} | {mib(init['init_memory_kib_median'])} |"
        )
    return rows


def sweeps_table(results: dict, latency: str) -> list[str]:
    sweeps = results["sweeps"][latency]
    if not sweeps:
        return []
    users = f"{results['users']:,}"
    rows = [
        f"Sweep of the {users}-user account at {float(latency):g} ms per call (scheduled event; a fresh "
        "process; wall time from the event's delivery; then the same sweep again on the account it left):",
        "",
        f"| function | offenders | actions | wall time | function CPU | peak memory (VmHWM) | < {TARGET_MEMORY_MIB:g} MiB | "
        f"IAM calls (reads + writes) | budget {TARGET_FIXED_CALLS} + {TARGET_CALLS_PER_OFFENDER}/offender: all calls, reads | "
        "re-run: wall, IAM calls, actions |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in sweeps.items():
        s = r["sweep"]
        c = calls_summary(s["calls"])
        offenders = results["offenders"][name]
        budget = TARGET_FIXED_CALLS + TARGET_CALLS_PER_OFFENDER * offenders
        if s["outcome"] == "response":
            actions = ", ".join(f"{v} {k}" for k, v in s["report"]["actions"].items()) or "none"
        else:
            actions = f"ERROR: {json.dumps(s['error'])[:160]}"
        rerun = r["rerun"]
        rc = calls_summary(rerun["calls"])
        rerun_actions = rerun["report"]["applied"] if rerun["outcome"] == "response" else "ERROR"
        cpu = "n/a" if s.get("cpu_s") is None else f"{s['cpu_s']:.2f} s"
        memory_ok = s["peak_memory_kib"] is not None and s["peak_memory_kib"] < TARGET_MEMORY_MIB * 1024
        rows.append(
            f"| `{name}` | {offenders} | {actions} | {seconds(s['wall_s'])} | {cpu} | "
            f"{mib(s['peak_memory_kib'])} | {verdict(memory_ok)} | {c['iam_total']} ({c['iam_reads']} + {c['iam_writes']}) | "
            f"{budget}: {verdict(c['iam_total'] <= budget)}, {verdict(c['iam_reads'] <= budget)} | "
            f"{seconds(rerun['wall_s'])}, {rc['iam_total']}, {rerun_actions} applied |"
        )
    rows += ["", "IAM calls by action in the sweep (and other services' calls):", ""]
    for name, r in sweeps.items():
        rows.append(f"- `{name}`: {by_action(r['sweep']['calls'])}")
        rows.append(f"  - re-run: {by_action(r['rerun']['calls'])}")
    return rows


def resume_table(results: dict, latency: str) -> list[str]:
    rows = []
    users = f"{results['users']:,}"
    for name, demo in results["resume"].get(latency, {}).items():
        rows += [
            "",
            f"`{name}` at {float(latency):g} ms per call: a sweep whose budget is too short, on a fresh {users}-user "
            f"account ({demo['offenders']} offenders), then the usual sweeps until nothing is left:",
            "",
            "| run | budget | outcome | wall time | applied | planned changes left (not started) | "
            "candidates left unread | IAM calls |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for number, run in enumerate(demo["runs"], 1):
            report = run.get("report") or {}
            rows.append(
                f"| {number} | {run['budget_ms'] / 1000:.1f} s | {run['outcome']} | {run['wall_s']:.2f} s | "
                f"{report.get('applied', '–')} | {report.get('stopped_before_deadline', '–')} | "
                f"{report.get('unread_candidates', '–')} | {calls_summary(run['calls'])['iam_total']} |"
            )
    return rows


def comparison_table(results: dict, latency: str) -> list[str]:
    cells = results["comparison"].get(latency, {})
    if not cells:
        return []
    rows = [
        f"access-keys and Cloud Custodian at {float(latency):g} ms per call (each on a fresh account; wall time "
        "from spawning the process to its answer or exit):",
        "",
        "| users (offending keys) | access-keys: wall (init) | IAM calls (per offending key) | re-run: wall, IAM calls | "
        "Custodian: wall (policy run) | Custodian: IAM calls | Custodian / access-keys: time, calls | "
        "old keys deactivated, fresh ones untouched (read back): access-keys, Custodian |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells.values():
        ours, rerun, custodian = cell["ours"], cell["rerun"], cell.get("custodian")
        calls = calls_summary(ours["calls"])["iam_total"]
        rerun_calls = calls_summary(rerun["calls"])["iam_total"]
        if custodian is None:
            theirs = ["not run"] * 3
        elif "error" in custodian:
            theirs = [f"failed after {seconds(custodian['wall_s'])}", "–", "–"]
        else:
            their_calls = calls_summary(custodian["calls"])["iam_total"]
            policy = f" ({seconds(custodian['policy_s'])})" if custodian.get("policy_s") else ""
            theirs = [
                f"{seconds(custodian['wall_s'])}{policy}",
                f"{their_calls}",
                f"{custodian['wall_s'] / ours['cold_wall_s']:.1f}×, {their_calls / max(1, calls):.1f}×",
            ]
        checked = [verdict(cell["ours_cleaned"])]
        checked.append("–" if custodian is None else verdict(cell.get("custodian_cleaned", False)))
        status = "" if ours["outcome"] == "response" else f" {ours['outcome']}"
        rows.append(
            f"| {cell['users']:,} ({cell['offenders']}) | {seconds(ours['cold_wall_s'])} "
            f"({ours['init_s'] * 1000:.1f} ms){status} | {calls} ({calls / max(1, cell['offenders']):.2f}) | "
            f"{seconds(rerun['cold_wall_s'])}, {rerun_calls} | {' | '.join(theirs)} | {', '.join(checked)} |"
        )
    rows += ["", "Calls by action:", ""]
    for cell in cells.values():
        rows.append(f"- {cell['users']:,} users, access-keys: {by_action(cell['ours']['calls'])}")
        rows.append(f"  - re-run: {by_action(cell['rerun']['calls'])}")
        if cell.get("custodian"):
            rows.append(f"  - Custodian: {by_action(cell['custodian']['calls'])}")
    return rows


def targets_text(results: dict) -> list[str]:
    rows = []
    for latency, cells in results["comparison"].items():
        for cell in cells.values():
            issue = (float(latency), cell["users"]) == TARGET_CELL
            rows += [
                "",
                f"Issue 16's targets at {float(latency):g} ms, {cell['users']:,} users ({cell['offenders']} offending keys)"
                + (" (the measured cell):" if issue else " (for reference):"),
                "",
            ]
            rows += [f"- {name}: {measured}: {'pass' if ok else '**FAIL**'}" for name, measured, ok in targets(cell)]
    return rows


def report(results: dict) -> str:
    """The results as Markdown."""
    rows = start_up_table(results)
    for latency in results["latencies"]:
        for part in (sweeps_table, resume_table, comparison_table):
            block = part(results, latency)
            if block:
                rows += ["", *block] if rows else block
    rows += targets_text(results)
    return "\n".join(rows)


# -- the whole benchmark ---------------------------------------------------------------------


def numbers(text: str, kind: type) -> list:
    return [kind(item) for item in text.split(",") if item.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000, help="users in the seeded account of the sweeps (5000)")
    parser.add_argument("--reps", type=int, default=11, help="cold starts per function for init time (11)")
    parser.add_argument(
        "--functions", default=",".join(FUNCTIONS), help="comma-separated subset for start-up and sweeps ('' for none)"
    )
    parser.add_argument(
        "--latency-ms",
        default="0,50",
        metavar="MS[,MS…]",
        help="the IAM endpoint's latency per call: sweeps and comparisons run at each (0,50)",
    )
    parser.add_argument(
        "--compare-users",
        default="500,5000",
        metavar="N[,N…]",
        help="account sizes of the access-keys / Cloud Custodian comparison, one in ten users offending "
        "(500,5000; '' for none)",
    )
    parser.add_argument(
        "--custodian",
        type=Path,
        default=ROOT / ".venv-custodian" / "bin" / "custodian",
        help="Cloud Custodian's `custodian` command (.venv-custodian/bin/custodian, which scripts/bench installs)",
    )
    parser.add_argument("--no-custodian", action="store_true", help="compare without running Cloud Custodian")
    parser.add_argument(
        "--profile", default="release", help="<target dir>/<profile> holds the binaries (release; CARGO_TARGET_DIR honoured)"
    )
    parser.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="run this binary for a function instead of <target dir>/<profile>/<name> (repeatable)",
    )
    parser.add_argument("--max-actions", type=int, default=1000, help="MAX_ACTIONS for the sweeps (1000)")
    parser.add_argument("--sweep-timeout", type=float, default=600, help="seconds a sweep may take (600)")
    parser.add_argument(
        "--custodian-timeout", type=float, default=1500, help="seconds a Cloud Custodian run may take (1500)"
    )
    parser.add_argument(
        "--resume",
        default="",
        metavar="FUNCTIONS",
        help="also show, on a fresh account, a sweep whose budget is too short stopping before its deadline "
        "and the next runs finishing the work (comma-separated functions, e.g. access-keys)",
    )
    parser.add_argument(
        "--resume-budget",
        type=float,
        default=None,
        help="that sweep's budget, as a fraction of the measured sweep's wall time (by default the fraction "
        "that stops it half-way through its changes, judged from its share of reads: no change starts in the "
        "last fifth of a short budget)",
    )
    parser.add_argument("--json", type=Path, default=None, help="raw numbers (<target dir>/bench/results.json)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the functions' and Custodian's logs")
    args = parser.parse_args()

    functions = [f for f in args.functions.split(",") if f]
    resumed = [f for f in args.resume.split(",") if f]
    latencies = numbers(args.latency_ms, float) or [0.0]
    compare_users = numbers(args.compare_users, int)
    unknown = set(functions) - set(FUNCTIONS)
    if unknown:
        parser.error(f"unknown functions: {', '.join(sorted(unknown))}")
    if set(resumed) - set(functions):
        parser.error("--resume: only functions that are benchmarked (--functions)")
    custodian = None
    if compare_users and not args.no_custodian:
        custodian = args.custodian if args.custodian.is_absolute() else ROOT / args.custodian
        if not custodian.exists():
            sys.exit(f"{custodian} is missing: run scripts/bench (which installs it), or pass --no-custodian")
    overrides = dict(item.split("=", 1) for item in args.binary)
    binaries = {}
    for name in functions + (["access-keys"] if compare_users else []):
        path = Path(overrides[name]) if name in overrides else target_dir() / args.profile / name
        if not path.exists():
            sys.exit(f"{path} is missing: build it first (cargo build --release --bins)")
        binaries[name] = path
    json_path = args.json or target_dir() / "bench" / "results.json"

    started = time.monotonic()
    results: dict = {
        "machine": machine(custodian),
        "command": "scripts/bench " + " ".join(sys.argv[1:]),
        "users": args.users,
        "latencies": [f"{latency:g}" for latency in latencies],
        "binaries": {name: str(path) for name, path in binaries.items()},
        "functions": {},
        "sweeps": {},
        "resume": {},
        "comparison": {},
    }
    print(f"machine: {results['machine']}", flush=True)
    with ExitStack() as stack:
        watch = Watch(stack)
        logs = Path(tempfile.mkdtemp(prefix="iam-remediation-bench-"))
        if not args.keep_logs:
            stack.callback(shutil.rmtree, logs, True)
        api = RuntimeApi(stack)
        if functions:
            # Init reads no account, at any latency: measured once.
            with ExitStack() as bed_stack:
                bed = TestBed(bed_stack)
                for name in functions:
                    env = lambda_env(name, api, bed, args.max_actions)
                    entry = {"binary_bytes": binaries[name].stat().st_size, "arm64": arm64_builds(name)}
                    entry["init"] = measure_init(name, binaries[name], api, env, args.reps, logs / f"{name}.log")
                    print(
                        f"{name}: binary {entry['binary_bytes']} B, init median {entry['init']['init_ms_median']:.1f} ms",
                        flush=True,
                    )
                    results["functions"][name] = entry
        for latency in latencies:
            key = f"{latency:g}"
            results["sweeps"][key] = {}
            if functions:
                with ExitStack() as bed_stack:
                    bed = TestBed(bed_stack)
                    offenders, seeded = seed(bed, args.users)
                    set_latency(bed, latency)
                    results["offenders"] = {name: offenders[name] for name in functions}
                    print(
                        f"seeded {args.users} users in {seeded:.1f}s; offenders: {results['offenders']}; "
                        f"latency {latency:g} ms",
                        flush=True,
                    )
                    for name in functions:
                        env = lambda_env(name, api, bed, args.max_actions)
                        log = logs / f"{name}.log"
                        # The sweep, then again on the account as the sweep left it: nothing left to
                        # fix, so the re-run is what every later scheduled run costs.
                        entry = results["sweeps"][key][name] = {}
                        for run, label in (("sweep", "sweep"), ("rerun", "re-run")):
                            s = entry[run] = sweep(name, binaries[name], api, bed, env, args.sweep_timeout, log)
                            peak = f", peak {mib(s['peak_memory_kib'])}" if run == "sweep" else ""
                            print(
                                f"{name} at {latency:g} ms: {label} {s['outcome']} in {s['wall_s']:.2f}s{peak}, "
                                f"{calls_summary(s['calls'])['iam_total']} IAM calls",
                                flush=True,
                            )
            for name in resumed:
                measured = results["sweeps"][key][name]["sweep"]
                fraction = args.resume_budget
                if fraction is None:
                    calls = calls_summary(measured["calls"])
                    reads = calls["iam_reads"] / max(1, calls["iam_total"])
                    fraction = (reads + (1 - reads) / 2) / 0.8
                budget_ms = max(500, int(measured["wall_s"] * 1000 * fraction))
                results["resume"].setdefault(key, {})[name] = resume(
                    name,
                    binaries[name],
                    api,
                    args.users,
                    latency,
                    args.max_actions,
                    budget_ms,
                    args.sweep_timeout,
                    logs / f"{name}.log",
                )
            for users in compare_users:
                results["comparison"].setdefault(key, {})[str(users)] = compare(
                    binaries["access-keys"],
                    api,
                    custodian,
                    users,
                    latency,
                    args.max_actions,
                    args.sweep_timeout,
                    args.custodian_timeout,
                    logs / "access-keys-compare.log",
                    logs,
                )
        if args.keep_logs:
            print(f"logs: {logs}")
        watch.stop()
        results["watch"] = watch.summary()
    results["total_s"] = time.monotonic() - started
    results["load_average_at_end"] = os.getloadavg()[0]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2))
    print()
    print(report(results))
    watched = results["watch"]
    print(
        f"\nbench took {results['total_s']:.0f}s; 1-minute load average {results['machine']['load_average_at_start']:.2f} "
        f"at the start, {results['load_average_at_end']:.2f} at the end (highest {watched['max_load_average']:.2f}) on "
        f"{results['machine']['nproc']} CPUs; raw numbers in {json_path}"
    )
    if watched["busy_samples"]:
        seen = ", ".join(f"{name} in {count}" for name, count in sorted(watched["busy_samples"].items()))
        print(
            f"WARNING: other builds or tests ran during the measurement ({seen} of {watched['samples']} one-second "
            "samples): these numbers were taken next to them"
        )
    else:
        print(f"no cargo or rustc process ran during the measurement ({watched['samples']} one-second samples)")
    failed = [
        f"{name} at {latency} ms"
        for latency, sweeps in results["sweeps"].items()
        for name, r in sweeps.items()
        if r["sweep"]["outcome"] != "response"
    ] + [
        f"comparison of {users} users at {latency} ms"
        for latency, cells in results["comparison"].items()
        for users, cell in cells.items()
        if cell["ours"]["outcome"] != "response"
        or not cell["ours_cleaned"]
        or (custodian is not None and not cell.get("custodian_cleaned"))
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
