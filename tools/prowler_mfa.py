"""An independent check of console-passwords' MFA rule: Prowler's iam_user_mfa_enabled_console_access.

Seeds the local IAM test bed (moto) with console passwords with and without MFA, runs Prowler's
check (tools/prowler_check.sh), sweeps the account once with console-passwords (MFA_GRACE_DAYS=7,
the scheduled event) through cargo-lambda's runtime emulator, and runs Prowler again. After the
sweep only the exempt user and the password still in grace may FAIL: anything else that FAILs,
or one of those two that no longer FAILs, makes the exit status non-zero.
Run it with `scripts/prowler-check`, which installs Prowler and builds the functions first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from demo import ago, describe
from local_lambda import ROOT, Function, RuntimeEmulator, TestBed, binary

FUNCTION = "console-passwords"
GRACE_DAYS = 7
EXPECTED_FAIL = {
    "breakglass": "exempt (tagged iam-remediation:exempt=true)",
    "new-hire": f"in grace (password set 3 days ago, MFA_GRACE_DAYS={GRACE_DAYS})",
}
# Prowler talks to the test bed only: any other address goes to a port where nothing listens.
NO_NETWORK = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}


def seed(bed: TestBed) -> None:
    iam = bed.client("iam")

    def user(name: str, password_days: int | None = None) -> None:
        """A user whose console password (if any) was set `password_days` ago, used yesterday."""
        iam.create_user(UserName=name)
        if password_days is None:
            return
        iam.create_login_profile(UserName=name, Password=f"{name}-Pa55word!")
        # moto dates a login profile from its user's creation
        bed.control(
            "POST", "/_test/user", {"user_name": name, "create_date": ago(password_days), "password_last_used": ago(1)}
        )

    for name in ("dev-ana", "dev-ben", "dev-chen"):  # no MFA for 30 days: deleted
        user(name, 30)
    user("ops-mfa", 30)  # an enabled virtual MFA device
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="ops-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="ops-mfa", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    user("new-hire", 3)  # no MFA yet, in grace
    user("breakglass", 30)  # no MFA, exempt
    iam.tag_user(UserName="breakglass", Tags=[{"Key": "iam-remediation:exempt", "Value": "true"}])
    user("ci-bot")  # no console password


def prowler(bed: TestBed) -> tuple[int, int, list[str]]:
    """Prowler's check: (PASS count, FAIL count, failing users)."""
    env = {**os.environ, **NO_NETWORK, "PROWLER_VENV": str(ROOT / ".venv-prowler")}
    run = subprocess.run(
        [str(ROOT / "tools/prowler_check.sh"), bed.endpoint], env=env, capture_output=True, text=True
    )
    if run.returncode != 0:
        sys.exit(f"Prowler failed:\n{run.stdout}{run.stderr}")
    counts, *failing = run.stdout.splitlines()
    _, passed, _, failed = counts.split()
    return int(passed), int(failed), failing


def main() -> int:
    started = time.monotonic()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prowler-mfa-")))
        bed = TestBed(stack)
        seed(bed)
        before = prowler(bed)

        emulator = RuntimeEmulator(stack)
        env = {**bed.aws_env(), "MFA_GRACE_DAYS": str(GRACE_DAYS)}
        Function(FUNCTION, binary(FUNCTION), emulator, env, logs / f"{FUNCTION}.log").start(stack)
        ok, report = emulator.invoke(FUNCTION, ROOT / "events" / FUNCTION / "scheduled.json")
        print(f"{FUNCTION} (MFA_GRACE_DAYS={GRACE_DAYS}, events/{FUNCTION}/scheduled.json):")
        print("\n".join(describe(FUNCTION, ok, report)))

        after = prowler(bed)

    print("\nProwler iam_user_mfa_enabled_console_access  PASS  FAIL")
    for label, (passed, failed, _) in (("before", before), ("after", after)):
        print(f"  {label:<42} {passed:>4}  {failed:>4}")
    print("\nStill FAIL after the sweep:")
    unexpected = 0
    for name in after[2]:
        why = EXPECTED_FAIL.get(name)
        unexpected += why is None
        print(f"  {name:<12} {'expected: ' + why if why else 'NOT EXPECTED'}")
    for name in EXPECTED_FAIL.keys() - set(after[2]):
        unexpected += 1
        print(f"  {name:<12} NOT EXPECTED to PASS: its password was deleted ({EXPECTED_FAIL[name]})")
    verdict = "OK" if ok and not unexpected else "MISMATCH"
    print(f"\n{verdict} in {time.monotonic() - started:.0f}s")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
