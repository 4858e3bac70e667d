#!/usr/bin/env bash
# Runs Prowler's check iam_user_mfa_enabled_console_access against a local IAM endpoint (the moto
# test bed, tests/moto/server.py) and prints "PASS n FAIL m", then one failing user name a line.
#
#   tools/prowler_check.sh http://127.0.0.1:PORT
#
# Prowler comes from its own venv (PROWLER_VENV, default .venv-prowler at the repository's root),
# which scripts/prowler-check sets up.
# Fake credentials only: the script never uses a profile or credentials from the environment.
set -euo pipefail

endpoint="${1:?usage: $0 ENDPOINT_URL}"
venv="${PROWLER_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv-prowler}"
check="${PROWLER_CHECK:-iam_user_mfa_enabled_console_access}"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true

# -z: findings that FAIL do not make Prowler exit 3; any other non-zero exit is an error.
if ! "$venv/bin/prowler" aws --checks "$check" -f us-east-1 \
    --output-formats json-ocsf --output-directory "$out" -F result \
    --no-banner --no-color -z --log-level ERROR >"$out/prowler.log" 2>&1; then
    echo "prowler failed; its output:" >&2
    cat "$out/prowler.log" >&2
    exit 1
fi

"$venv/bin/python" - "$out/result.ocsf.json" <<'PY'
import json, sys

findings = json.load(open(sys.argv[1]))
counts = {"PASS": 0, "FAIL": 0}
failing = []
for finding in findings:
    status = finding["status_code"]
    counts[status] = counts.get(status, 0) + 1
    if status == "FAIL":
        resource = finding["resources"][0]
        failing.append(resource.get("name") or resource.get("uid"))
print(f"PASS {counts['PASS']} FAIL {counts['FAIL']}")
for name in sorted(failing):
    print(name)
PY
