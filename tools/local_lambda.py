"""Run the functions locally the way Lambda runs them, against the local IAM test bed.

Used by the demo (`scripts/demo`) and the benchmark (`scripts/bench`):

* `TestBed` starts moto's server behind the test-only wrapper (tests/moto/server.py) on a free
  loopback port and stops it on exit;
* `RuntimeEmulator` starts cargo-lambda's Lambda runtime emulator
  (`cargo lambda watch --only-lambda-apis`) and `Function` runs a function's built binary against
  it with the environment Lambda would give it; `invoke` sends an event with `cargo lambda invoke`,
  exactly as an operator would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CARGO_LAMBDA = VENV_BIN / "cargo-lambda"
FUNCTIONS = ["access-keys", "console-passwords", "password-policy", "inline-policies"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vm_hwm_kib(pid: int) -> int | None:
    """A running process's peak resident memory so far (VmHWM), in KiB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


class TestBed:
    """moto's server behind the test-only wrapper."""

    def __init__(self, stack: ExitStack) -> None:
        self.process = subprocess.Popen(
            [str(VENV_BIN / "python"), str(ROOT / "tests/moto/server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stack.callback(self.stop)
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"moto's server did not start: {line!r}")
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def control(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    def calls(self) -> dict[str, int]:
        return self.control("GET", "/_test/calls")

    def reset_calls(self) -> None:
        self.control("DELETE", "/_test/calls")

    def aws_env(self) -> dict[str, str]:
        """The environment that points an AWS SDK at the test bed."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self, service: str):
        import boto3  # from the venv: moto depends on it

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


class RuntimeEmulator:
    """cargo-lambda's Lambda runtime API emulator, without its builder: binaries are prebuilt."""

    def __init__(self, stack: ExitStack) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            self.cargo_lambda("watch", "--only-lambda-apis"),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(self.stop)
        wait_for_port(self.port)

    def cargo_lambda(self, *subcommand: str) -> list[str]:
        """The command line of `cargo lambda <subcommand>` talking to this emulator."""
        address = ["--invoke-address", "127.0.0.1", "--invoke-port", str(self.port)]
        return [str(CARGO_LAMBDA), "lambda", *subcommand, *address]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def invoke(self, function: str, event_file: Path, timeout: float = 300) -> tuple[bool, dict | str]:
        """Invokes a function with an event file: (succeeded, report or error text)."""
        result = subprocess.run(
            self.cargo_lambda("invoke", function, "--data-file", str(event_file), "--output-format", "json"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "NO_COLOR": "1"},
        )
        if result.returncode == 0:
            return True, json.loads(result.stdout)
        return False, (result.stdout + result.stderr).strip()


@dataclass
class Function:
    """A function's binary polling the emulator, as Lambda would run it."""

    name: str
    binary: Path
    emulator: RuntimeEmulator
    env: dict[str, str]
    log_path: Path
    started_at: float = 0.0
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, stack: ExitStack) -> "Function":
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.emulator.port}/.rt/{self.name}",
            **self.env,
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed by the stack
        stack.callback(self.log.close)
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [str(self.binary)], env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )
        stack.callback(self.stop)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def peak_rss_kib(self) -> int | None:
        """Peak resident memory so far (VmHWM), while the process runs."""
        return vm_hwm_kib(self.process.pid)


def binary(name: str, profile: str = "debug") -> Path:
    path = ROOT / "target" / profile / name
    if not path.exists():
        sys.exit(f"{path} is missing: build it first (cargo build --bins)")
    return path
