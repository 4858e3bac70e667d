"""Test-only wrapper around moto's server: the local IAM API the tests and the demo run against.

moto is a faithful IAM implementation with a few gaps that matter to this project. This wrapper
closes them from the outside, so that product code never needs a test mode:

* no time travel: ``POST /_test/access-key`` and ``POST /_test/user`` set creation and
  last-use timestamps (a key created 200 days ago, a password last used 3 days ago);
* Config ``PutEvaluations`` only exists in moto's test mode: the wrapper answers it and keeps
  what was sent, readable at ``GET /_test/evaluations``;
* fault injection: ``POST /_test/faults`` makes the next N calls of an API action fail with a
  chosen HTTP status and AWS error code (throttling, 500s, AccessDenied, a call that fails
  half-way through a change); a few codes are not AWS errors but network faults:
  ``DropConnection`` closes the connection without an answer (nothing done),
  ``DropConnectionAfter`` does the call and then closes the connection (done, answer lost),
  ``Delay`` waits ``delay_seconds`` and then does the call and answers (a slow server), and
  ``DelayAnswer`` does the call at once and answers ``delay_seconds`` later (done, answer late),
  so that a client's attempt timeout fires;
* call counting: ``GET /_test/calls`` returns how many calls of each action were made, which is
  how the tests and the benchmark count the IAM calls of a sweep;
* secrets issued: every SecretAccessKey that CreateAccessKey returned is kept, readable at
  ``GET /_test/issued-secrets``, so a test can search the logs for every secret ever issued,
  including those of keys deleted since;
* signature checks: ``POST /_test/enforce-auth`` turns moto's request authentication on or off,
  so a test can prove that a stored secret really signs a request;
* real-AWS rules moto lacks, always on (see ``_teach_moto_aws_rules``): IAM user and role tag keys
  are case-insensitive (a ``TagUser`` with ``Department`` replaces ``department``) and a user or
  role holds at most 50 tags (``LimitExceeded``); Secrets Manager refuses a secret name with
  characters other than ASCII letters, digits and ``/_+=.@-`` (``ValidationException``), and
  GetSecretValue without a stage follows AWSCURRENT when UpdateSecretVersionStage moves it;
  SNS Publish refuses a message over 262,144 bytes, attributes included (see
  ``_oversized_sns_message``; moto counts the body's characters only);
* side effects after a call (a race with someone else): ``POST /_test/after`` runs an action
  (set a key's status, inject a fault, create a key as an administrator would) right after the
  Nth next call of an API action was done, before its answer goes back (with ``"before": true``:
  right before that call is done, even when a fault is put on it); ``DELETE /_test/after``
  removes the pending ones; the IDs of keys created that way are at
  ``GET /_test/side-effect-keys``;
* what was asked: ``GET /_test/requests`` lists every IAM call with its parameters (the query
  protocol's form fields; Secrets Manager bodies are not kept, they hold secrets);
* the root user: the credential report starts with its ``<root_account>`` row, as AWS's does;
  ``POST /_test/root`` ``{"mfa_active", "access_keys": [{"active", "created", "last_used"}]}``
  sets the root user's credentials; GetAccountSummary shows them at once
  (``AccountAccessKeysPresent``), the credential report as they were when it was generated
  (GenerateCredentialReport reuses a report for 4 hours);
* Security Hub's BatchUpdateFindings and BatchUpdateFindingsV2, which moto lacks
  (``securityhub_ext.py``; ``GET /_test/securityhub/batch-update-findings[-v2]``);
* organisations (``organisation_ext.py``): several accounts in one AWS Organizations
  organisation, role trust on AssumeRole, asynchronous Lambda invocations recorded
  (``GET /_test/lambda/invocations``), ListAccounts paging, and ``sts:AssumeRoot`` root sessions
  on seeded root user credentials (``/_test/organisation/…``);
* latency: ``--latency-ms N`` or ``POST /_test/latency {"ms": N}`` answers every AWS call N ms
  late, on a threaded server, so calls in flight overlap as on a real endpoint.

It binds a free loopback port, prints ``PORT <n>`` on its first line, and exits when its
standard input closes, so a test that dies never leaves a server behind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

from moto import settings as moto_settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.exceptions import LimitExceededException
from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.secretsmanager.models import SecretsManagerBackend
from werkzeug.serving import make_server

import organisation_ext
import securityhub_ext


def _iam(account: str = DEFAULT_ACCOUNT_ID):
    return iam_backends[account]["aws"]


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    # moto stores naive UTC datetimes.
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


# -- real-AWS rules moto lacks --------------------------------------------------------------

#: IAM quotas, "Tags that can be attached to an IAM user" and "... to an IAM role": 50 (IAM User
#: Guide, IAM and AWS STS quotas, reference_iam-quotas). TagUser/TagRole list LimitExceeded (HTTP
#: 409 in the IAM API model) among their errors, and "if you exceed the allowed maximum number of
#: tags, then the entire request fails" (IAM API Reference, TagUser).
MAX_TAGS_PER_PRINCIPAL = 50

#: Secrets Manager CreateSecret, Name: "The secret name can contain ASCII letters, numbers, and
#: the following characters: /_+=.@-" (Secrets Manager API Reference, CreateSecret).
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
#: What Secrets Manager answers for any other name (ValidationException, HTTP 400), as reported
#: from real AWS in smithy-lang/smithy-typescript#1546.
SECRET_NAME_ERROR = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
    "following: -/_+=.@!"
)


def _merge_principal_tags(existing: list[dict], new: list[dict], quota: str) -> list[dict]:
    """The tags of an IAM user or role after a TagUser/TagRole of ``new``.

    IAM User Guide, Tagging IAM resources, Case sensitivity: "Tag key values for IAM users and
    roles are not case sensitive, but case is preserved. This means that you cannot have separate
    Department and department tag keys. If you have tagged a user with the Department=finance tag
    and you add the department=hr tag, it replaces the first tag. A second tag is not added." moto
    keys them case-sensitively and adds a second tag. (Which spelling IAM keeps is not
    documented; here the new tag replaces the old one whole.)
    """
    replaced = {tag["Key"].lower() for tag in new}
    merged = [tag for tag in existing if tag["Key"].lower() not in replaced] + list(new)
    if len(merged) > MAX_TAGS_PER_PRINCIPAL:
        raise LimitExceededException(
            f"Cannot exceed quota for {quota}: {MAX_TAGS_PER_PRINCIPAL}."
        )
    return merged


def _last_used(spec: dict) -> AccessKeyLastUsed:
    """An access key's last use from a control request (``last_used``, ``service``?, ``region``?)."""
    return AccessKeyLastUsed(
        timestamp=_parse_time(spec["last_used"]),
        service=spec.get("service", "iam"),
        region=spec.get("region", "us-east-1"),
    )


def _teach_moto_aws_rules() -> None:
    """Case-insensitive tag keys and the 50-tag quota on IAM users and roles (see
    ``_merge_principal_tags``; moto checks neither on TagUser), and Secrets Manager's default
    version following AWSCURRENT."""

    def tag_user(self, name: str, tags: list[dict[str, str]]) -> None:
        self._tag_verification(tags)
        user = self.get_user(name)
        current = self.tagger.list_tags_for_resource(user.arn)["Tags"]
        merged = _merge_principal_tags(current, tags, "TagsPerUser")
        self.tagger.tags[user.arn] = {tag["Key"]: tag.get("Value", "") for tag in merged}

    def untag_user(self, name: str, tag_keys: list[str]) -> None:
        user = self.get_user(name)
        removed = {key.lower() for key in tag_keys}
        current = self.tagger.tags.get(user.arn, {})
        for key in [key for key in current if key.lower() in removed]:
            del current[key]

    def tag_role(self, role_name: str, tags: list[dict[str, str]]) -> None:
        self._tag_verification(tags)
        role = self.get_role(role_name)
        role.tags = _merge_principal_tags(role.tags, tags, "TagsPerRole")

    original_untag_role = IAMBackend.untag_role

    def untag_role(self, role_name: str, tag_keys: list[str]) -> None:
        role = self.get_role(role_name)
        removed = {key.lower() for key in tag_keys}
        spelled = [tag["Key"] for tag in role.tags if tag["Key"].lower() in removed]
        original_untag_role(self, role_name, list(tag_keys) + spelled)

    IAMBackend.tag_user = tag_user
    IAMBackend.untag_user = untag_user
    IAMBackend.tag_role = tag_role
    IAMBackend.untag_role = untag_role

    # Secrets Manager GetSecretValue: "If you don't specify either a VersionStage or VersionId,
    # Secrets Manager returns the AWSCURRENT version" (API Reference, GetSecretValue). moto keeps
    # its own default version, which UpdateSecretVersionStage does not move with AWSCURRENT.
    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        self,
        secret_id: str,
        version_stage: str,
        remove_from_version_id: str,
        move_to_version_id: str,
    ) -> tuple[str, str]:
        result = original_update_stage(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage

    # The credential report's first row is always the root user's ("<root_account>", IAM User
    # Guide, "Getting credential reports": "The root user's row ... fields that do not apply
    # contain not_supported"); moto has none. ROOT holds what the test set for it.
    original_report = IAMBackend.get_credential_report

    def get_credential_report(self) -> str:
        header, _, rows = original_report(self).partition("\n")
        return f"{header}\n{_root_row(self.account_id)}{rows}"

    IAMBackend.get_credential_report = get_credential_report

    # GenerateCredentialReport reuses the last report when it is less than 4 hours old ("If the
    # most recent report was generated within the last four hours, the API uses the most recent
    # report instead of generating a new one", AWS Knowledge Center, config-credential-report;
    # IAM User Guide, "Getting credential reports"): a root key created since is invisible in
    # it. moto builds its rows live; the root row is the snapshot taken at generation.
    original_generate = IAMBackend.generate_report

    def generate_report(self) -> None:
        taken = REPORTED_ROOT.get("at")
        if taken is None or datetime.now(timezone.utc) - taken > REPORT_REUSED_FOR:
            REPORTED_ROOT.clear()
            REPORTED_ROOT.update(json.loads(json.dumps(ROOT)))
            REPORTED_ROOT["at"] = datetime.now(timezone.utc)
        original_generate(self)

    IAMBackend.generate_report = generate_report

    # GetAccountSummary is live: AccountAccessKeysPresent is 1 while the root user has an access
    # key (IAM API Reference, GetAccountSummary); moto always answers 0. ROOT is the default
    # account's root user; another account's follow its seeded root credentials
    # (organisation_ext).
    original_summary = IAMBackend.get_account_summary

    def get_account_summary(self):
        summary = original_summary(self)
        if self.account_id == DEFAULT_ACCOUNT_ID:
            summary._account_access_keys_present = 1 if ROOT.get("access_keys") else 0
        return summary

    IAMBackend.get_account_summary = get_account_summary


#: The account the test bed's own credentials act in (moto's default).
DEFAULT_ACCOUNT_ID = "123456789012"
#: That account's root user's credentials as they are now (POST /_test/root).
ROOT: dict = {"mfa_active": True, "access_keys": []}
#: The root user's credentials as the last generated credential report shows them, and when it
#: was generated ("at").
REPORTED_ROOT: dict = {}
#: How long GenerateCredentialReport reuses the last report.
REPORT_REUSED_FOR = timedelta(hours=4)


def _root_row(account_id: str) -> str:
    """The `<root_account>` row: not_supported where nothing applies, as AWS writes it."""
    root = REPORTED_ROOT if REPORTED_ROOT else ROOT
    keys = list(root.get("access_keys") or [])[:2]
    key_fields = []
    for slot in range(2):
        if slot < len(keys):
            key = keys[slot]
            key_fields += [
                "true" if key.get("active", True) else "false",
                key.get("created", "2020-01-01T00:00:00+00:00"),
                key.get("last_used") or "N/A",
                "N/A" if not key.get("last_used") else "us-east-1",
                "N/A" if not key.get("last_used") else "iam",
            ]
        else:
            key_fields += ["false", "N/A", "N/A", "N/A", "N/A"]
    fields = [
        "<root_account>",
        f"arn:aws:iam::{account_id}:root",
        "2020-01-01T00:00:00+00:00",
        "not_supported",
        "N/A",
        "not_supported",
        "not_supported",
        "true" if root.get("mfa_active", True) else "false",
        *key_fields,
        "false",
        "N/A",
        "false",
        "N/A",
    ]
    return ",".join(fields) + "\n"


def _refused_secret_name(action: str, body: bytes) -> str | None:
    """The name a Secrets Manager call may not use (CreateSecret's Name, PutSecretValue's
    SecretId when it is a name rather than an ARN), or None. moto accepts any name."""
    if action not in ("secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"):
        return None
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    name = request.get("Name") if action.endswith("CreateSecret") else request.get("SecretId")
    if not isinstance(name, str) or name.startswith("arn:") or SECRET_NAME.fullmatch(name):
        return None
    return name


#: SNS Publish, Message: "messages must be UTF-8 encoded strings and at most 256 KB in size
#: (262,144 bytes, not 262,144 characters)"; MessageAttributeValue: "All parts of the message
#: attribute, including name, type, and value, are included in the message size restriction"
#: (SNS API Reference). moto compares the body's length in characters, attributes left out.
SNS_MAX_MESSAGE_BYTES = 262_144


def _oversized_sns_message(action: str, body: bytes) -> int | None:
    """The size in bytes of an SNS Publish's message and attributes when over SNS's limit."""
    if action != "sns:Publish":
        return None
    form = parse_qs(body.decode("utf-8", "replace"))
    counted = ("Message",) + tuple(
        key
        for key in form
        if key.startswith("MessageAttributes.entry.")
        and key.endswith((".Name", ".Value.DataType", ".Value.StringValue"))
    )
    size = sum(len(form.get(key, [""])[0].encode("utf-8")) for key in counted)
    return size if size > SNS_MAX_MESSAGE_BYTES else None


class TestBed:
    # What ``GET`` of a control path answers: the record it names, as it is now.
    RECORDS = {
        "/_test/requests": "requests",
        "/_test/calls": "calls",
        "/_test/issued-secrets": "issued_secrets",
        "/_test/evaluations": "evaluations",
        "/_test/side-effect-keys": "side_effect_keys",
    }
    # What ``DELETE`` of a control path empties.
    CLEARED = {
        "/_test/after": ("after",),
        "/_test/faults": ("faults",),
        "/_test/calls": ("calls", "requests"),
    }

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.faults: list[dict] = []
        self.evaluations: list[dict] = []
        self.issued_secrets: list[str] = []
        self.after: list[dict] = []
        self.requests: list[dict] = []
        # Keys created by side effects ("create_access_key"), as someone else would.
        self.side_effect_keys: list[str] = []
        self.securityhub = securityhub_ext.SecurityHubExt()
        self.organisation = organisation_ext.OrganisationExt()
        # Every AWS call is answered this much later (seconds): the latency of a real endpoint.
        # The server is threaded, so calls in flight overlap as they do on a real one.
        self.latency = 0.0

    # -- the WSGI entry point -------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_test/"):
            return self._control(path, environ, start_response)

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = self._action(environ, body)
        if self.latency:
            time.sleep(self.latency)

        with self.lock:
            self.calls[action] += 1
            if action.startswith("iam:"):
                params = parse_qs(body.decode("utf-8", "replace"))
                self.requests.append(
                    {"action": action, "params": {k: v[0] for k, v in params.items()}}
                )
            fault = self._take_fault(action)
            first = self._take_after(action, before=True)
            hooks = self._take_after(action) if fault is None else []
        # Someone else got there first: their change is done before this call is.
        for hook in first:
            self._run_after(hook["do"])
        if fault is not None:
            if fault["code"] in self.NETWORK_FAULTS:
                return self._network_fault(fault, environ, start_response, action, body)
            return self._fail(fault, environ, start_response)
        refused = _refused_secret_name(action, body)
        if refused is not None:
            error = {"code": "ValidationException", "status": 400, "message": SECRET_NAME_ERROR}
            return self._fail(error, environ, start_response)
        if _oversized_sns_message(action, body) is not None:
            error = {
                "code": "InvalidParameter",
                "status": 400,
                "message": "Invalid parameter: Message too long",
            }
            return self._fail(error, environ, start_response)
        if not hooks:
            return self._forward(environ, start_response, action, body)
        # The call is done, then the side effects happen, then the answer goes back: what the
        # caller reads is already out of date when it arrives, as in a race with someone else.
        answer = b"".join(self._forward(environ, start_response, action, body))
        for hook in hooks:
            self._run_after(hook["do"])
        return [answer]

    def _forward(self, environ, start_response, action: str, body: bytes):
        # Role trust, AssumeRoot and its root sessions, asynchronous Lambda invocations (see
        # organisation_ext.py): answered there, or None for moto to answer.
        answer = self.organisation.handle(environ, action, body, start_response)
        if answer is not None:
            return answer
        # BatchUpdateFindings(V2): moto has neither (see securityhub_ext.py).
        if securityhub_ext.handles(environ):
            return self.securityhub.handle(environ, body, start_response)
        if action == "config:PutEvaluations":
            request = json.loads(body or b"{}")
            with self.lock:
                self.evaluations.append(request)
            return self._json(start_response, 200, {"FailedEvaluations": []})
        if action == "iam:CreateAccessKey":
            return self._capture_secret(environ, start_response)
        return self.moto(environ, start_response)

    def _capture_secret(self, environ, start_response):
        body = b"".join(self.moto(environ, start_response))
        match = re.search(rb"<SecretAccessKey>([^<]+)</SecretAccessKey>", body)
        if match:
            with self.lock:
                self.issued_secrets.append(match.group(1).decode())
        return [body]

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _action(environ, body: bytes) -> str:
        rest = securityhub_ext.rest_action(environ)
        if rest is not None:
            return f"securityhub:{rest}"
        rest = organisation_ext.rest_action(environ)
        if rest is not None:
            return rest
        target = environ.get("HTTP_X_AMZ_TARGET")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service = "unknown"
        if "Credential=" in auth:
            # Credential=AKID/20250101/us-east-1/iam/aws4_request
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 4:
                service = scope[3]
        if target:
            return f"{service}:{target.rsplit('.', 1)[-1]}"
        form = parse_qs(body.decode("utf-8", "replace"))
        query = parse_qs(environ.get("QUERY_STRING", ""))
        name = (form.get("Action") or query.get("Action") or ["unknown"])[0]
        return f"{service}:{name}"

    def _take_fault(self, action: str):
        for fault in self.faults:
            matches = fault["action"] == action or (
                fault["action"].endswith(":*") and action.startswith(fault["action"][:-1])
            )
            if not matches or fault["remaining"] <= 0:
                continue
            if fault["every"]:
                # One call in `every` fails (`"service:*"` counts all of a service's calls).
                fault["seen"] += 1
                if fault["seen"] % fault["every"]:
                    continue
            elif fault["skip"] > 0:
                fault["skip"] -= 1
                return None
            fault["remaining"] -= 1
            return fault
        return None

    def _take_after(self, action: str, before: bool = False) -> list[dict]:
        """The side effects due after (or, with ``before``, before) this call of ``action``
        (each runs once)."""
        due = []
        for hook in self.after:
            if hook["action"] != action or hook["done"] or hook["before"] != before:
                continue
            if hook["skip"] > 0:
                hook["skip"] -= 1
                continue
            hook["done"] = True
            due.append(hook)
        return due

    def _run_after(self, do: dict) -> None:
        """One side effect: ``{"set_key_status": {"access_key_id", "status"}}`` (as UpdateAccessKey
        by someone else would), ``{"create_access_key": {"user_name"}}`` (an administrator's
        CreateAccessKey; refused as IAM refuses a third key) or ``{"fault": {...}}`` (the body of
        ``POST /_test/faults``)."""
        if "create_access_key" in do:
            key = _iam().create_access_key(do["create_access_key"]["user_name"])
            with self.lock:
                self.issued_secrets.append(key.secret_access_key)
                self.side_effect_keys.append(key.access_key_id)
        if "set_key_status" in do:
            change = do["set_key_status"]
            key = _iam().access_keys[change["access_key_id"]]
            key.status = change["status"]
        if "fault" in do:
            self._add_fault(do["fault"])

    def _add_fault(self, request: dict) -> None:
        with self.lock:
            self.faults.append(
                {
                    "action": request["action"],
                    "status": int(request.get("status", 400)),
                    "code": request.get("code", "Throttling"),
                    "message": request.get("message", "injected by the test bed"),
                    "remaining": int(request.get("count", 1)),
                    "skip": int(request.get("skip", 0)),
                    "delay_seconds": float(request.get("delay_seconds", 0)),
                    "every": int(request.get("every", 0)),
                    "seen": 0,
                }
            )

    def _fail(self, fault, environ, start_response):
        if securityhub_ext.is_securityhub(environ):
            return securityhub_ext.error_response(
                start_response, fault["status"], fault["code"], fault["message"]
            )
        if environ.get("HTTP_X_AMZ_TARGET"):
            return self._json(
                start_response,
                fault["status"],
                {"__type": fault["code"], "message": fault["message"]},
            )
        xml = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            f"<Error><Type>Sender</Type><Code>{fault['code']}</Code>"
            f"<Message>{fault['message']}</Message></Error>"
            "<RequestId>test-bed-fault</RequestId></ErrorResponse>"
        ).encode()
        start_response(
            f"{fault['status']} Injected",
            [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))],
        )
        return [xml]

    # -- network faults: a dropped connection, a slow server, a late answer ---------------
    NETWORK_FAULTS = ("DropConnection", "DropConnectionAfter", "Delay", "DelayAnswer")

    def _network_fault(self, fault, environ, start_response, action: str, body: bytes):
        code = fault["code"]
        if code == "DropConnection":
            self._drop(environ)
        if code == "Delay":
            time.sleep(fault["delay_seconds"])
            return self._forward(environ, start_response, action, body)
        # The call is done now; its answer is lost or late.
        answer: dict = {}

        def hold(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        chunks = list(self._forward(environ, hold, action, body))
        data = b"".join(answer.get("written", []) + chunks)
        if code == "DropConnectionAfter":
            self._drop(environ)
        time.sleep(fault["delay_seconds"])
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "content-length"]
        start_response(answer["status"], headers + [("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _drop(environ):
        """Closes the client's connection without an answer, as a dying peer or proxy does."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # werkzeug treats this as a connection the client dropped: nothing more is written.
        raise ConnectionAbortedError("connection dropped by the test bed")

    @staticmethod
    def _json(start_response, status: int, payload) -> list[bytes]:
        data = json.dumps(payload, default=str).encode()
        start_response(
            f"{status} OK" if status == 200 else f"{status} Error",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]

    # -- the control endpoints ------------------------------------------------------------
    def _control(self, path, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        request = json.loads(raw) if raw else {}
        try:
            result = self._dispatch(path, environ["REQUEST_METHOD"], request)
        except KeyError as missing:
            return self._json(start_response, 404, {"error": f"not found: {missing}"})
        except (ValueError, TypeError) as bad:
            return self._json(start_response, 400, {"error": str(bad)})
        return self._json(start_response, 200, result)

    def _dispatch(self, path: str, method: str, request: dict):
        if path == "/_test/access-key" and method == "POST":
            # "account": a member account of the organisation test bed (default: the tests' own).
            key = _iam(request.get("account", DEFAULT_ACCOUNT_ID)).access_keys[request["access_key_id"]]
            if "create_date" in request:
                key.create_date = _parse_time(request["create_date"])
            if "last_used" in request:
                key.last_used = None if request["last_used"] is None else _last_used(request)
            return {"ok": True}
        if path == "/_test/user" and method == "POST":
            user = _iam().users[request["user_name"]]
            if "create_date" in request:
                user.create_date = _parse_time(request["create_date"])
            if "password_last_used" in request:
                value = request["password_last_used"]
                user.password_last_used = None if value is None else _parse_time(value)
            return {"ok": True}
        if path == "/_test/faults" and method == "POST":
            self._add_fault(request)
            return {"ok": True}
        if path == "/_test/after" and method == "POST":
            do = request["do"]
            effects = {"set_key_status", "fault", "create_access_key"}
            if not isinstance(do, dict) or not effects & do.keys():
                raise ValueError(f'"do" needs one of {sorted(effects)}')
            with self.lock:
                self.after.append(
                    {
                        "action": request["action"],
                        "skip": int(request.get("skip", 0)),
                        "before": bool(request.get("before", False)),
                        "do": do,
                        "done": False,
                    }
                )
            return {"ok": True}
        if method == "GET" and path in self.RECORDS:
            with self.lock:
                record = getattr(self, self.RECORDS[path])
                return dict(record) if isinstance(record, dict) else list(record)
        if method == "DELETE" and path in self.CLEARED:
            with self.lock:
                for name in self.CLEARED[path]:
                    getattr(self, name).clear()
            return {"ok": True}
        if path == "/_test/enforce-auth" and method == "POST":
            moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if request["enabled"] else float("inf")
            return {"ok": True}
        if path == "/_test/seed-users" and method == "POST":
            return self._seed_users(request.get("users", []))
        if path.startswith(("/_test/organisation", "/_test/lambda", "/_test/sts")):
            return self.organisation.control(path, method, request)
        if path.startswith("/_test/securityhub"):
            return self.securityhub.control(path, method, request)
        if path == "/_test/root" and method == "POST":
            ROOT.clear()
            ROOT.update(request)
            return {"ok": True}
        if path == "/_test/latency" and method == "POST":
            self.latency = float(request.get("ms", 0)) / 1000
            return {"ok": True}
        raise KeyError(f"{method} {path}")

    def _seed_users(self, users: list[dict]) -> dict:
        """Bulk seeding for the benchmark (``POST /_test/seed-users``): creates many users, each
        with its timestamps, tags, access keys, console password and inline policies, straight in
        moto's backend, as thousands of API calls would but in a second. Each user is
        ``{"user_name", "create_date"?, "path"?, "tags"?: {key: value}, "password"?: str,
        "password_last_used"?, "access_keys"?: [{"create_date"?, "last_used"?, "status"?}],
        "inline_policies"?: {name: document}}``; the answer names each user's new key IDs."""
        backend = _iam()
        created: dict[str, list[str]] = {}
        for spec in users:
            name = spec["user_name"]
            tags = [{"Key": k, "Value": v} for k, v in (spec.get("tags") or {}).items()]
            user = backend.create_user("us-east-1", name, spec.get("path", "/"), tags)
            if spec.get("create_date"):
                user.create_date = _parse_time(spec["create_date"])
            if spec.get("password"):
                backend.create_login_profile(name, spec["password"])
            if spec.get("password_last_used"):
                user.password_last_used = _parse_time(spec["password_last_used"])
            for policy_name, document in (spec.get("inline_policies") or {}).items():
                backend.put_user_policy(name, policy_name, document)
            key_ids = []
            for key_spec in spec.get("access_keys") or []:
                key = backend.create_access_key(name, status=key_spec.get("status", "Active"))
                with self.lock:
                    self.issued_secrets.append(key.secret_access_key)
                if key_spec.get("create_date"):
                    key.create_date = _parse_time(key_spec["create_date"])
                if key_spec.get("last_used"):
                    key.last_used = _last_used(key_spec)
                key_ids.append(key.access_key_id)
            created[name] = key_ids
        return {"created": len(created), "access_keys": created}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="answer every AWS call this many milliseconds late (a real endpoint's latency)",
    )
    parser.add_argument(
        "--no-stdin-watch",
        action="store_true",
        help="keep running when standard input closes (for a server started by hand)",
    )
    args = parser.parse_args()

    _teach_moto_aws_rules()
    bed = TestBed()
    organisation_ext.teach_moto(bed.organisation)
    bed.latency = args.latency_ms / 1000
    server = make_server(args.host, args.port, bed, threaded=True)
    print(f"PORT {server.server_port}", flush=True)

    if not args.no_stdin_watch:

        def exit_when_parent_goes() -> None:
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
