"""The benchmark: binary size, init time, memory, and a 5,000-user sweep of each function.

For each function it reports:

* the release binary's size (the workspace release profile strips it);
* init time: from spawning the binary with the environment Lambda gives it until its runtime
  first asks the Runtime API for an event (`GET /2018-06-01/runtime/invocation/next`), the
  median of several cold starts, and the peak memory (VmHWM) of the process at that point;
* a sweep (the function's `events/<function>/scheduled.json`) of a local account (moto, through
  the test-only wrapper `tests/moto/server.py`) seeded with 5,000 users, about 10% of them
  offenders for each function: wall time from the event's delivery to the function's answer,
  the IAM calls it made by action (the wrapper's `GET /_test/calls`), and the process's peak
  memory (VmHWM); then the same sweep again on the account it left (what every later scheduled
  run costs);
* with `--resume FUNCTIONS`: on a freshly seeded account, a sweep whose budget is too short for
  it (it stops reading and changing before its deadline), then the usual sweeps until nothing is
  left, showing that the next run continues where the last one stopped.

The Lambda Runtime API is served by this script (cargo-lambda's emulator does not say when a
runtime first polls): a small `http.server` that answers `invocation/next` with Lambda's headers
(request ID, a deadline 15 minutes away, function ARN, trace ID) and records the response or
error the function posts. Run it with `scripts/bench` (which builds the release binaries first);
`--help` lists the knobs. It prints Markdown tables (BENCHMARKS.md holds a measured set) and
writes the raw numbers as JSON. It takes under a minute on a 2-CPU machine (seeding 5,000 users
takes half a second through the wrapper's `POST /_test/seed-users`; through the IAM API, one call
at a time, it would take about two minutes).
"""

from __future__ import annotations

import argparse
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

from local_lambda import FUNCTIONS, ROOT, TestBed

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


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


# -- the account -----------------------------------------------------------------------------


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


def seed(bed: TestBed, users: int) -> tuple[dict[str, int], float]:
    """Seeds the account through the wrapper's bulk endpoint; returns offenders and seconds."""
    started = time.monotonic()
    specs, offenders = account(users)
    for chunk in range(0, len(specs), 1000):
        bed.control("POST", "/_test/seed-users", {"users": specs[chunk : chunk + 1000]})
    bed.client("iam").update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True)
    return offenders, time.monotonic() - started


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


def vm_hwm_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


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
    """One scheduled sweep by a freshly started process: wall time, calls, VmHWM, report."""
    event = json.loads((ROOT / "events" / function / "scheduled.json").read_text())
    bed.reset_calls()
    session = api.new_session(function, budget_ms)
    process = Process(binary, env, log)
    try:
        wait_ready(session, process)
        session.events.put(event)
        # Lambda ends an invocation at its deadline: so does the benchmark, when it is the shorter.
        killed = budget_ms / 1000 < timeout and not session.done.wait(budget_ms / 1000)
        if not killed and not session.done.wait(timeout):
            raise RuntimeError(f"{function}'s sweep did not finish within {timeout}s")
        memory = vm_hwm_kib(process.popen.pid)
        cpu = cpu_seconds(process.popen.pid)
        if killed:
            session.outcome = "killed at the deadline"
            wall = budget_ms / 1000
        else:
            wall = session.finished_at - session.delivered_at
    finally:
        session.closed = True
        process.stop()
    calls = bed.calls()
    body = json.loads(session.body or b"null")
    result = {
        "outcome": session.outcome,
        "wall_s": wall,
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
    function: str, binary: Path, api: RuntimeApi, users: int, max_actions: int, budget_ms: int, timeout: float, log: Path
) -> dict:
    """A sweep with too short a budget on a freshly seeded account, then sweeps with the usual one
    until nothing is left: the first stops before its deadline, the next ones finish the work."""
    runs = []
    with ExitStack() as stack:
        bed = TestBed(stack)
        offenders, _ = seed(bed, users)
        env = lambda_env(function, api, bed, max_actions)
        for budget in (budget_ms, 900_000, 900_000, 900_000):
            run = sweep(function, binary, api, bed, env, timeout, log, budget)
            run["budget_ms"] = budget
            runs.append(run)
            report = run.get("report")
            print(
                f"{function} resume: budget {budget / 1000:.1f}s: {run['outcome']} in {run['wall_s']:.2f}s, "
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


# -- the whole benchmark ---------------------------------------------------------------------


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        rustc = "unknown"
    try:
        from importlib.metadata import version

        moto = version("moto")
    except Exception:  # noqa: BLE001 - informational only
        moto = "unknown"
    return {
        "date": NOW.strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "arch": platform.machine(),
        "rustc": rustc,
        "moto": moto,
        "load_average_at_start": os.getloadavg()[0],
    }


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


def mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(results: dict) -> str:
    """The results as Markdown: start-up, the sweep, and the calls by action."""
    users = f"{results['users']:,}"
    reps = len(next(iter(results["functions"].values()))["init"]["init_ms"])
    rows = [
        f"Start-up (init: spawn to the first `GET /runtime/invocation/next`, median of {reps} cold starts):",
        "",
        f"| function | binary, stripped | < {TARGET_BINARY_MIB:g} MiB | init, median (min–max) | "
        f"< {TARGET_INIT_MS:g} ms | memory after init (VmHWM) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results["functions"].items():
        init = r["init"]
        size = r["binary_bytes"]
        rows.append(
            f"| `{name}` | {size / 2**20:.2f} MiB ({size:,} B) | {verdict(size < TARGET_BINARY_MIB * 2**20)} | "
            f"{init['init_ms_median']:.1f} ms ({min(init['init_ms']):.1f}–{max(init['init_ms']):.1f}) | "
            f"{verdict(init['init_ms_median'] < TARGET_INIT_MS)} | {mib(init['init_memory_kib_median'])} |"
        )
    rows += [
        "",
        f"Sweep of the {users}-user account (scheduled event; a fresh process; then the same sweep again "
        "on the account it left):",
        "",
        f"| function | offenders | actions | wall time | function CPU | peak memory (VmHWM) | < {TARGET_MEMORY_MIB:g} MiB | "
        f"IAM calls (reads + writes) | budget {TARGET_FIXED_CALLS} + {TARGET_CALLS_PER_OFFENDER}/offender: all calls, reads | "
        "re-run: wall, IAM calls, actions |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["functions"].items():
        s = r["sweep"]
        c = calls_summary(s["calls"])
        offenders = results["offenders"][name]
        budget = TARGET_FIXED_CALLS + TARGET_CALLS_PER_OFFENDER * offenders
        if s["outcome"] == "response":
            actions = ", ".join(f"{v} {k}" for k, v in s["report"]["actions"].items()) or "none"
        else:
            actions = f"ERROR: {json.dumps(s['error'])[:160]}"
        rerun = r.get("rerun")
        if rerun:
            rc = calls_summary(rerun["calls"])
            rerun_actions = rerun["report"]["applied"] if rerun["outcome"] == "response" else "ERROR"
            rerun_text = f"{rerun['wall_s']:.2f} s, {rc['iam_total']}, {rerun_actions} applied"
        else:
            rerun_text = "–"
        cpu = "n/a" if s.get("cpu_s") is None else f"{s['cpu_s']:.2f} s"
        memory_ok = s["peak_memory_kib"] is not None and s["peak_memory_kib"] < TARGET_MEMORY_MIB * 1024
        rows.append(
            f"| `{name}` | {offenders} | {actions} | {s['wall_s']:.2f} s | "
            f"{cpu} | "
            f"{mib(s['peak_memory_kib'])} | {verdict(memory_ok)} | {c['iam_total']} ({c['iam_reads']} + {c['iam_writes']}) | "
            f"{budget}: {verdict(c['iam_total'] <= budget)}, {verdict(c['iam_reads'] <= budget)} | {rerun_text} |"
        )
    rows += ["", "IAM calls by action in the sweep (and other services' calls):", ""]
    for name, r in results["functions"].items():
        c = calls_summary(r["sweep"]["calls"])
        iam = ", ".join(f"{k} {v}" for k, v in sorted(c["iam"].items(), key=lambda kv: (-kv[1], kv[0])))
        other = ", ".join(f"{k} {v}" for k, v in sorted(c["other"].items()))
        rows.append(f"- `{name}`: {iam or 'none'}" + (f"; {other}" if other else ""))
        if r.get("rerun"):
            rc = calls_summary(r["rerun"]["calls"])
            again = ", ".join(f"{k} {v}" for k, v in sorted(rc["iam"].items(), key=lambda kv: (-kv[1], kv[0])))
            rows.append(f"  - re-run: {again or 'none'}")
    for name, demo in results.get("resume", {}).items():
        rows += [
            "",
            f"`{name}`: a sweep whose budget is too short, on a fresh {users}-user account "
            f"({demo['offenders']} offenders), then the usual sweeps until nothing is left:",
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
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000, help="users in the seeded account (5000)")
    parser.add_argument("--reps", type=int, default=11, help="cold starts per function for init time (11)")
    parser.add_argument("--functions", default=",".join(FUNCTIONS), help="comma-separated subset")
    parser.add_argument("--profile", default="release", help="target/<profile> holds the binaries (release)")
    parser.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="run this binary for a function instead of target/<profile>/<name> (repeatable)",
    )
    parser.add_argument("--max-actions", type=int, default=1000, help="MAX_ACTIONS for the sweeps (1000)")
    parser.add_argument("--sweep-timeout", type=float, default=600, help="seconds a sweep may take (600)")
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
    parser.add_argument("--json", type=Path, default=ROOT / "target" / "bench" / "results.json")
    parser.add_argument("--keep-logs", action="store_true", help="keep the functions' logs")
    args = parser.parse_args()

    functions = [f for f in args.functions.split(",") if f]
    unknown = set(functions) - set(FUNCTIONS)
    if unknown:
        parser.error(f"unknown functions: {', '.join(sorted(unknown))}")
    overrides = dict(item.split("=", 1) for item in args.binary)
    binaries = {}
    for name in functions:
        path = Path(overrides[name]) if name in overrides else ROOT / "target" / args.profile / name
        if not path.exists():
            sys.exit(f"{path} is missing: build it first (cargo build --release --bins)")
        binaries[name] = path

    started = time.monotonic()
    results: dict = {
        "machine": machine(),
        "users": args.users,
        "binaries": {name: str(path) for name, path in binaries.items()},
        "functions": {},
    }
    print(f"machine: {results['machine']}", flush=True)
    with ExitStack() as stack:
        logs = Path(tempfile.mkdtemp(prefix="iam-remediation-bench-"))
        if not args.keep_logs:
            stack.callback(shutil.rmtree, logs, True)
        api = RuntimeApi(stack)
        bed = TestBed(stack)
        offenders, seconds = seed(bed, args.users)
        results["offenders"] = {name: offenders[name] for name in functions}
        results["seed_s"] = seconds
        print(f"seeded {args.users} users in {seconds:.1f}s; offenders: {results['offenders']}", flush=True)
        for name in functions:
            env = lambda_env(name, api, bed, args.max_actions)
            log = logs / f"{name}.log"
            entry = {"binary_bytes": binaries[name].stat().st_size}
            entry["init"] = measure_init(name, binaries[name], api, env, args.reps, log)
            print(
                f"{name}: binary {entry['binary_bytes']} B, init median {entry['init']['init_ms_median']:.1f} ms",
                flush=True,
            )
            entry["sweep"] = sweep(name, binaries[name], api, bed, env, args.sweep_timeout, log)
            s = entry["sweep"]
            print(
                f"{name}: sweep {s['outcome']} in {s['wall_s']:.2f}s, peak {mib(s['peak_memory_kib'])}, "
                f"{calls_summary(s['calls'])['iam_total']} IAM calls",
                flush=True,
            )
            # Again, on the account as the sweep left it: nothing left to fix, so this is what
            # every later scheduled run costs.
            entry["rerun"] = sweep(name, binaries[name], api, bed, env, args.sweep_timeout, log)
            r = entry["rerun"]
            print(
                f"{name}: re-run {r['outcome']} in {r['wall_s']:.2f}s, "
                f"{calls_summary(r['calls'])['iam_total']} IAM calls",
                flush=True,
            )
            results["functions"][name] = entry
        for name in [f for f in args.resume.split(",") if f]:
            if name not in results["functions"]:
                parser.error(f"--resume {name}: not among the functions benchmarked")
            measured = results["functions"][name]["sweep"]
            fraction = args.resume_budget
            if fraction is None:
                calls = calls_summary(measured["calls"])
                reads = calls["iam_reads"] / max(1, calls["iam_total"])
                fraction = (reads + (1 - reads) / 2) / 0.8
            budget_ms = max(500, int(measured["wall_s"] * 1000 * fraction))
            results.setdefault("resume", {})[name] = resume(
                name, binaries[name], api, args.users, args.max_actions, budget_ms, args.sweep_timeout, logs / f"{name}.log"
            )
        if args.keep_logs:
            print(f"function logs: {logs}")
    results["total_s"] = time.monotonic() - started
    results["load_average_at_end"] = os.getloadavg()[0]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print()
    print(table(results))
    print(
        f"\nbench took {results['total_s']:.0f}s (seeding {results['seed_s']:.1f}s); 1-minute load average "
        f"{results['machine']['load_average_at_start']:.2f} at the start, {results['load_average_at_end']:.2f} at the end "
        f"on {results['machine']['nproc']} CPUs; raw numbers in {args.json}"
    )
    failed = [n for n, r in results["functions"].items() if r["sweep"]["outcome"] != "response"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
