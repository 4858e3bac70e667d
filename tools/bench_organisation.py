"""Organisation mode's fan-out, measured (not a test; see BENCHMARKS.md): a scheduled run of one
function in an organisation of N accounts, the test bed answering every call L ms late (calls in
flight overlap, as on AWS). The run lists the ACTIVE accounts page by page (ListAccounts: at most
20 a page) and starts one asynchronous invocation of itself per account (InvocationType=Event);
the benchmark reports its wall time, its calls by action and the invocations the test bed
recorded. Run through `scripts/bench organisation [--accounts N] [--latency-ms L]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import boto3

from bench import RuntimeApi, lambda_env, set_latency, sweep, target_dir
from local_lambda import TestBed

# An empty ZIP archive: the test bed records invocations, it never runs the code.
EMPTY_ZIP = bytes([0x50, 0x4B, 0x05, 0x06] + [0] * 18)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def organisation(bed: TestBed, accounts: int, function: str) -> None:
    """An organisation of `accounts` accounts (the management account, where the function runs,
    and accounts - 1 members), and the function in the management account."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = lambda service: session.client(service, endpoint_url=bed.endpoint)  # noqa: E731
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    for i in range(accounts - 1):
        org.create_account(Email=f"member-{i}@example.com", AccountName=f"member-{i}")
    role = client("iam").create_role(
        RoleName=f"{function}-bench", Path="/iam-remediation/", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    client("lambda").create_function(
        FunctionName=function,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role=role["Role"]["Arn"],
        Code={"ZipFile": EMPTY_ZIP},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300, help="accounts in the organisation (300)")
    parser.add_argument("--latency-ms", type=float, default=50, help="milliseconds added to every call (50)")
    parser.add_argument("--function", default="access-keys", help="the function that sweeps (access-keys)")
    args = parser.parse_args()
    binary = target_dir() / "release" / args.function
    with ExitStack() as stack:
        bed = TestBed(stack)
        organisation(bed, args.accounts, args.function)
        set_latency(bed, args.latency_ms)
        api = RuntimeApi(stack)
        env = lambda_env(args.function, api, bed, 25) | {"MEMBER_ROLE_NAME": "iam-remediation-member"}
        log = Path(tempfile.mkdtemp()) / "function.log"
        result = sweep(args.function, binary, api, bed, env, 600, log)
        invocations = bed.control("GET", "/_test/lambda/invocations")
    calls = result["calls"]
    total = sum(calls.values())
    bound = total * args.latency_ms / 1000 / 3 + 1
    dispatched = [a for a in result.get("report", {}).get("actions", [])] if "report" in result else []
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "latency_ms": args.latency_ms,
                "outcome": result["outcome"],
                "wall_s": round(result["wall_s"], 3),
                "cold_wall_s": round(result["cold_wall_s"], 3),
                "peak_memory_kib": result["peak_memory_kib"],
                "calls": calls,
                "calls_total": total,
                "bound_s (calls x latency / 3 + 1 s)": round(bound, 3),
                "within_bound": result["wall_s"] <= bound,
                "invocations_recorded": len(invocations),
                "distinct_accounts_dispatched": len({json.dumps(i["payload"]) for i in invocations}),
                "report": result.get("report", result.get("error")),
            },
            indent=2,
        )
    )
    return 0 if result["outcome"] == "response" and len(invocations) == args.accounts else 1


if __name__ == "__main__":
    sys.exit(main())
