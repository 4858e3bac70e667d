"""The local demo: a small, realistic account on a local IAM endpoint, cleaned by the four functions.

Starts moto's server (the local IAM API) and cargo-lambda's Lambda runtime emulator, seeds an
account with the usual problems, runs each function's binary through the runtime first as a dry
run and then for real, and prints the account before and after, with each function's report.
Everything it started is stopped when it ends. Run it with `scripts/demo`.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

from local_lambda import FUNCTIONS, ROOT, Function, RuntimeEmulator, TestBed, binary

NOW = datetime.now(timezone.utc)
READ_ONLY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)
DEPLOY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:UpdateFunctionCode"], "Resource": "*"}]}
)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def seed(bed: TestBed) -> None:
    """An account with old and unused keys, an unused console password, a weak password policy,
    inline policies, and an exempt break-glass user."""
    iam = bed.client("iam")

    def user(name: str, created_days: int) -> None:
        iam.create_user(UserName=name)
        bed.control("POST", "/_test/user", {"user_name": name, "create_date": ago(created_days)})

    def key(user_name: str, age_days: int, used_days: int | None) -> str:
        key_id = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
        bed.control(
            "POST",
            "/_test/access-key",
            {
                "access_key_id": key_id,
                "create_date": ago(age_days),
                "last_used": None if used_days is None else ago(used_days),
            },
        )
        return key_id

    user("alice", 400)  # a developer with a key from last year, still in use
    key("alice", 200, 1)
    user("bob", 300)  # a key made for a one-off job and forgotten
    key("bob", 120, 100)
    user("carol", 60)  # all fine: a recent key, used yesterday; a password used last week
    key("carol", 30, 1)
    iam.create_login_profile(UserName="carol", Password="Carol-Pa55word!")
    bed.control("POST", "/_test/user", {"user_name": "carol", "password_last_used": ago(7)})
    user("dave", 200)  # a console password nobody ever used
    iam.create_login_profile(UserName="dave", Password="Dave-Pa55word!")
    user("erin", 150)  # inline policies: on a user and on a group
    iam.put_user_policy(UserName="erin", PolicyName="read-reports", PolicyDocument=READ_ONLY)
    iam.create_group(GroupName="deployers")
    iam.put_group_policy(GroupName="deployers", PolicyName="deploy-lambdas", PolicyDocument=DEPLOY)
    user("breakglass-admin", 500)  # exempt: left alone, and said so
    iam.tag_user(UserName="breakglass-admin", Tags=[{"Key": "iam-remediation:exempt", "Value": "true"}])
    key("breakglass-admin", 400, 350)
    iam.put_user_policy(UserName="breakglass-admin", PolicyName="emergency", PolicyDocument=READ_ONLY)
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True)


def picture(bed: TestBed) -> list[str]:
    """The account as a few lines of text."""
    iam = bed.client("iam")
    lines = []
    for user in sorted(iam.list_users()["Users"], key=lambda u: u["UserName"]):
        name = user["UserName"]
        keys = [
            f"{k['AccessKeyId'][-6:]}:{k['Status'].lower()}"
            for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        ]
        try:
            iam.get_login_profile(UserName=name)
            password = "console password"
        except iam.exceptions.NoSuchEntityException:
            password = "no console password"
        inline = iam.list_user_policies(UserName=name)["PolicyNames"]
        attached = [p["PolicyName"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]]
        tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
        exempt = " [exempt]" if "iam-remediation:exempt" in tags else ""
        lines.append(
            f"  user {name}{exempt}: keys {', '.join(keys) or 'none'}; {password}; "
            f"inline {inline or 'none'}; managed {attached or 'none'}"
        )
    for group in iam.list_groups()["Groups"]:
        name = group["GroupName"]
        inline = iam.list_group_policies(GroupName=name)["PolicyNames"]
        attached = [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]]
        lines.append(f"  group {name}: inline {inline or 'none'}; managed {attached or 'none'}")
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        fields = ", ".join(
            f"{k}={v}"
            for k, v in sorted(policy.items())
            if k in {"MinimumPasswordLength", "MaxPasswordAge", "PasswordReusePrevention", "RequireSymbols", "HardExpiry"}
        )
        lines.append(f"  password policy: {fields}")
    except iam.exceptions.NoSuchEntityException:
        lines.append("  password policy: none")
    return lines


def describe(function: str, ok: bool, result) -> list[str]:
    if not ok:
        return [f"  {function}: FAILED: {result}"]
    lines = [f"  {function}: examined {result['examined']}, {len(result['actions'])} action(s)"]
    for action in result["actions"]:
        lines.append(
            f"    {action['status']:>8} {action['action']} {action['principal_type']} {action['principal']}"
            f" {action['target']}: {action['reason']}"
        )
    return lines


def main() -> int:
    failures = 0
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="iam-remediation-demo-")))
        bed = TestBed(stack)
        print(f"Local IAM endpoint (moto): {bed.endpoint}")
        seed(bed)
        emulator = RuntimeEmulator(stack)
        print(f"Lambda runtime emulator (cargo lambda): 127.0.0.1:{emulator.port}\n")
        for name in FUNCTIONS:
            Function(name, binary(name), emulator, bed.aws_env(), logs / f"{name}.log").start(stack)

        print("Before:")
        print("\n".join(picture(bed)))

        print("\nDry run (events/<function>/manual-account-dry-run.json): nothing changes")
        for name in FUNCTIONS:
            ok, result = emulator.invoke(name, ROOT / "events" / name / "manual-account-dry-run.json")
            failures += not ok
            print("\n".join(describe(name, ok, result)))

        print("\nFor real (events/<function>/scheduled.json):")
        for name in FUNCTIONS:
            ok, result = emulator.invoke(name, ROOT / "events" / name / "scheduled.json")
            failures += not ok
            print("\n".join(describe(name, ok, result)))

        print("\nAfter:")
        print("\n".join(picture(bed)))
        print(f"\nFunction logs (JSON, with EMF metrics) were in {logs}; everything started is now stopped.")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
