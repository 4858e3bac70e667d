"""Test-only Security Hub additions for the moto test bed: the two update calls moto lacks.

moto 5.2.5 implements Security Hub's ``BatchImportFindings`` (``POST /findings/import``) and
``GetFindings`` (``POST /findings``, filters ignored), but neither ``BatchUpdateFindings``
(``PATCH /findings/batchupdate``) nor ``BatchUpdateFindingsV2`` (``PATCH
/findingsv2/batchupdatev2``): both come back 404. This module answers them from outside moto, as
``server.py`` already does for Config ``PutEvaluations``:

* ``BatchUpdateFindings`` changes the findings a test imported with moto's ``BatchImportFindings``
  in moto's own store (``Workflow.Status``, ``Note`` with ``UpdatedAt``, and the other customer
  fields), so a later ``GetFindings`` reads the change back. A finding identified by an Id and
  ProductArn that was never imported comes back in ``UnprocessedFindings`` (``FindingNotFound``),
  as in AWS.
* ``BatchUpdateFindingsV2`` has no store in moto: every request is recorded and readable, each
  identifier is answered in ``ProcessedFindings``. A test that wants a V2 finding to exist (and its
  status and comment to be kept) registers it first with ``put_v2_findings``; once any V2 finding
  is registered, identifiers that match none come back in ``UnprocessedFindings``
  (``ResourceNotFoundException``).

Both calls validate their input the way the API model does (sizes, enums, required members) and
answer a JSON error the AWS SDKs parse (``x-amzn-ErrorType`` header and ``__type`` body).
The module depends only on moto and the standard library.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID

BATCH_UPDATE_PATH = "/findings/batchupdate"
BATCH_UPDATE_V2_PATH = "/findingsv2/batchupdatev2"

# Security Hub is a rest-json service: the action is the HTTP method and path, not a header.
# (method, path) -> action name, for call counting and fault injection in the wrapper.
REST_ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/findings/import"): "BatchImportFindings",
    ("POST", "/findings"): "GetFindings",
    ("PATCH", BATCH_UPDATE_PATH): "BatchUpdateFindings",
    ("PATCH", BATCH_UPDATE_V2_PATH): "BatchUpdateFindingsV2",
    ("POST", "/findingsv2"): "GetFindingsV2",
    ("POST", "/accounts"): "EnableSecurityHub",
    ("DELETE", "/accounts"): "DisableSecurityHub",
    ("GET", "/accounts"): "DescribeHub",
}

WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
VERIFICATION_STATES = ("UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE")
SEVERITY_LABELS = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# OCSF finding status_id / severity_id values BatchUpdateFindingsV2 accepts (API model).
V2_STATUS = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved",
             5: "Archived", 99: "Other"}
V2_SEVERITY = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High",
               5: "Critical", 6: "Fatal", 99: "Other"}
MAX_IDENTIFIERS = 100
MAX_TEXT = 512


class InvalidInput(Exception):
    """A request the real API would refuse as a whole (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- request helpers ------------------------------------------------------------------------
def credential_scope(environ: dict) -> tuple[str | None, str | None, str | None]:
    """(access key, region, service) from a SigV4 ``Authorization`` header, or Nones."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return None, None, None
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip().split("/")
    if len(scope) < 4:
        return None, None, None
    return scope[0], scope[2], scope[3]


def is_securityhub(environ: dict) -> bool:
    return credential_scope(environ)[2] == "securityhub"


def rest_action(environ: dict) -> str | None:
    """The Security Hub action a request calls (``BatchUpdateFindings``...), or None when the
    request is not Security Hub's or not one this table knows."""
    if not is_securityhub(environ):
        return None
    path = environ.get("PATH_INFO", "").rstrip("/") or "/"
    return REST_ACTIONS.get((environ.get("REQUEST_METHOD", "").upper(), path))


def handles(environ: dict) -> bool:
    """True for the two calls this module answers (moto would answer them 404)."""
    return rest_action(environ) in ("BatchUpdateFindings", "BatchUpdateFindingsV2")


def account_and_region(environ: dict) -> tuple[str, str]:
    """The moto account and region a request addresses, resolved as moto itself does."""
    access_key, region, _ = credential_scope(environ)
    region = region or "us-east-1"
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"], region
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"], region
    if access_key:
        from moto.iam.models import get_account_id_from

        return get_account_id_from(access_key), region
    return DEFAULT_ACCOUNT_ID, region


def json_response(start_response: Callable, status: int, payload: Any,
                  error_type: str | None = None) -> list[bytes]:
    data = json.dumps(payload, default=str).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    reason = "OK" if status == 200 else "Error"
    start_response(f"{status} {reason}", headers)
    return [data]


def error_response(start_response: Callable, status: int, code: str, message: str) -> list[bytes]:
    """A rest-json error every AWS SDK parses (the wrapper's fault injection can use it too:
    its XML errors suit query-protocol services such as IAM, not Security Hub)."""
    return json_response(start_response, status, {"__type": code, "message": message}, code)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _record(requests: list[dict], account: str, region: str, request: dict) -> None:
    """Keeps a BatchUpdateFindings(V2) request for the tests to read back."""
    requests.append({"account": account, "region": region, "time": _now(), "request": request})


def _text(value: Any, name: str, code: str, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(code, f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise InvalidInput(code, f"{name} must be at most {max_len} characters, got {len(value)}")
    return value


def _ratio(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise InvalidInput("InvalidInputException", f"{name} must be an integer from 0 to 100")
    return value


# -- the extension ---------------------------------------------------------------------------
class SecurityHubExt:
    """Answers BatchUpdateFindings(V2) and keeps what was asked. Thread-safe."""

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self.lock = lock or threading.Lock()
        self.v1_requests: list[dict] = []
        self.v2_requests: list[dict] = []
        # (account, region, FindingInfoUid, MetadataProductUid) -> finding dict (OCSF-ish).
        self.v2_findings: dict[tuple[str, str, str, str], dict] = {}

    # WSGI entry: call when handles(environ) is true; body is the request body already read.
    def handle(self, environ: dict, body: bytes, start_response: Callable) -> list[bytes]:
        action = rest_action(environ)
        account, region = account_and_region(environ)
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as bad:
            code = "InvalidInputException" if action == "BatchUpdateFindings" else "ValidationException"
            return error_response(start_response, 400, code, f"malformed request body: {bad}")
        try:
            if action == "BatchUpdateFindings":
                result = self.batch_update_findings(request, account, region)
            else:
                result = self.batch_update_findings_v2(request, account, region)
        except InvalidInput as bad:
            return error_response(start_response, 400, bad.code, bad.message)
        return json_response(start_response, 200, result)

    # -- BatchUpdateFindings (ASFF) -----------------------------------------------------------
    def batch_update_findings(self, request: dict, account: str, region: str) -> dict:
        code = "InvalidInputException"
        identifiers = request.get("FindingIdentifiers")
        if not isinstance(identifiers, list) or not identifiers:
            raise InvalidInput(code, "FindingIdentifiers must be a non-empty list")
        if len(identifiers) > MAX_IDENTIFIERS:
            raise InvalidInput(code, f"at most {MAX_IDENTIFIERS} FindingIdentifiers, got {len(identifiers)}")
        for ident in identifiers:
            if not isinstance(ident, dict):
                raise InvalidInput(code, "each FindingIdentifier must be an object")
            _text(ident.get("Id"), "FindingIdentifiers[].Id", code, max_len=10**6)
            _text(ident.get("ProductArn"), "FindingIdentifiers[].ProductArn", code, max_len=10**6)
        changes = self._v1_changes(request)
        if not changes:
            raise InvalidInput(code, "the request updates no field")

        from moto.securityhub.models import securityhub_backends

        processed: list[dict] = []
        unprocessed: list[dict] = []
        with self.lock:
            _record(self.v1_requests, account, region, request)
            backend = securityhub_backends[account][region]
            seen: set[tuple[str, str]] = set()
            for ident in identifiers:
                key = (ident["Id"], ident["ProductArn"])
                ident_out = {"Id": ident["Id"], "ProductArn": ident["ProductArn"]}
                if key in seen:
                    unprocessed.append({"FindingIdentifier": ident_out,
                                        "ErrorCode": "DuplicatedFindingIdentifier",
                                        "ErrorMessage": "Finding Identifier is duplicated"})
                    continue
                seen.add(key)
                finding = next(
                    (f for f in backend.findings
                     if f.id == ident["Id"] and f.data.get("ProductArn") == ident["ProductArn"]),
                    None,
                )
                if finding is None:
                    unprocessed.append({"FindingIdentifier": ident_out,
                                        "ErrorCode": "FindingNotFound",
                                        "ErrorMessage": "Finding Not Found"})
                    continue
                for apply in changes:
                    apply(finding.data)
                processed.append(ident_out)
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}

    @staticmethod
    def _v1_changes(request: dict) -> list[Callable[[dict], None]]:
        """Validates the update fields and returns one function per change to a finding dict.
        (BatchUpdateFindings does not touch UpdatedAt; Note.UpdatedAt is stamped.)"""
        code = "InvalidInputException"
        changes: list[Callable[[dict], None]] = []
        if "Workflow" in request:
            status = (request["Workflow"] or {}).get("Status")
            if status not in WORKFLOW_STATUSES:
                raise InvalidInput(code, f"Workflow.Status must be one of {', '.join(WORKFLOW_STATUSES)}")

            def workflow(data: dict, status: str = status) -> None:
                data["Workflow"] = {"Status": status}

            changes.append(workflow)
        if "Note" in request:
            note = request["Note"] or {}
            text = _text(note.get("Text"), "Note.Text", code)
            by = _text(note.get("UpdatedBy"), "Note.UpdatedBy", code)

            def set_note(data: dict, text: str = text, by: str = by) -> None:
                data["Note"] = {"Text": text, "UpdatedBy": by, "UpdatedAt": _now()}

            changes.append(set_note)
        if "Severity" in request:
            severity = dict(request["Severity"] or {})
            if "Label" in severity and severity["Label"] not in SEVERITY_LABELS:
                raise InvalidInput(code, f"Severity.Label must be one of {', '.join(SEVERITY_LABELS)}")
            if "Normalized" in severity:
                _ratio(severity["Normalized"], "Severity.Normalized")

            def set_severity(data: dict, severity: dict = severity) -> None:
                data["Severity"] = {**(data.get("Severity") or {}), **severity}

            changes.append(set_severity)
        if "VerificationState" in request:
            state = request["VerificationState"]
            if state not in VERIFICATION_STATES:
                raise InvalidInput(code, f"VerificationState must be one of {', '.join(VERIFICATION_STATES)}")
            changes.append(lambda data, state=state: data.__setitem__("VerificationState", state))
        for name in ("Confidence", "Criticality"):
            if name in request:
                value = _ratio(request[name], name)
                changes.append(lambda data, name=name, value=value: data.__setitem__(name, value))
        if "Types" in request:
            types = list(request["Types"] or [])
            changes.append(lambda data, types=types: data.__setitem__("Types", types))
        if "UserDefinedFields" in request:
            fields = dict(request["UserDefinedFields"] or {})

            def set_fields(data: dict, fields: dict = fields) -> None:
                data["UserDefinedFields"] = {**(data.get("UserDefinedFields") or {}), **fields}

            changes.append(set_fields)
        if "RelatedFindings" in request:
            related = list(request["RelatedFindings"] or [])
            changes.append(lambda data, related=related: data.__setitem__("RelatedFindings", related))
        return changes

    # -- BatchUpdateFindingsV2 (OCSF) ---------------------------------------------------------
    def batch_update_findings_v2(self, request: dict, account: str, region: str) -> dict:
        code = "ValidationException"
        identifiers = request.get("FindingIdentifiers")
        uids = request.get("MetadataUids")
        if identifiers and uids:
            raise InvalidInput(code, "MetadataUids cannot be used together with FindingIdentifiers")
        if not identifiers and not uids:
            raise InvalidInput(code, "one of FindingIdentifiers or MetadataUids is required")
        targets = identifiers or uids
        if not isinstance(targets, list):
            raise InvalidInput(code, "FindingIdentifiers / MetadataUids must be a list")
        if len(targets) > MAX_IDENTIFIERS:
            raise InvalidInput(code, f"at most {MAX_IDENTIFIERS} findings per request, got {len(targets)}")
        for ident in identifiers or []:
            if not isinstance(ident, dict):
                raise InvalidInput(code, "each FindingIdentifier must be an object")
            for member in ("CloudAccountUid", "FindingInfoUid", "MetadataProductUid"):
                _text(ident.get(member), f"FindingIdentifiers[].{member}", code, max_len=10**6)
        for uid in uids or []:
            _text(uid, "MetadataUids[]", code, max_len=10**6)
        comment = request.get("Comment")
        if comment is not None:
            _text(comment, "Comment", code)
        status_id = request.get("StatusId")
        if status_id is not None and status_id not in V2_STATUS:
            raise InvalidInput(code, f"StatusId must be one of {sorted(V2_STATUS)}")
        severity_id = request.get("SeverityId")
        if severity_id is not None and severity_id not in V2_SEVERITY:
            raise InvalidInput(code, f"SeverityId must be one of {sorted(V2_SEVERITY)}")
        if comment is None and status_id is None and severity_id is None:
            raise InvalidInput(code, "the request updates no field (Comment, StatusId, SeverityId)")

        processed: list[dict] = []
        unprocessed: list[dict] = []
        with self.lock:
            _record(self.v2_requests, account, region, request)
            strict = any(key[:2] == (account, region) for key in self.v2_findings)
            for target in targets:
                if isinstance(target, dict):
                    out: dict = {"FindingIdentifier": {
                        "CloudAccountUid": target["CloudAccountUid"],
                        "FindingInfoUid": target["FindingInfoUid"],
                        "MetadataProductUid": target["MetadataProductUid"],
                    }}
                    finding = self.v2_findings.get(
                        (account, region, target["FindingInfoUid"], target["MetadataProductUid"])
                    )
                    if finding is not None and (finding.get("cloud") or {}).get("account", {}).get(
                        "uid", target["CloudAccountUid"]
                    ) != target["CloudAccountUid"]:
                        finding = None
                else:
                    out = {"MetadataUid": target}
                    finding = next(
                        (f for key, f in self.v2_findings.items()
                         if key[:2] == (account, region)
                         and (f.get("metadata") or {}).get("uid") == target),
                        None,
                    )
                if finding is None and strict:
                    unprocessed.append({**out, "ErrorCode": "ResourceNotFoundException",
                                        "ErrorMessage": "Finding not found"})
                    continue
                if finding is not None:
                    if comment is not None:
                        finding["comment"] = comment
                    if status_id is not None:
                        finding["status_id"], finding["status"] = status_id, V2_STATUS[status_id]
                    if severity_id is not None:
                        finding["severity_id"], finding["severity"] = severity_id, V2_SEVERITY[severity_id]
                processed.append(out)
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}

    def put_v2_findings(self, findings: Iterable[dict], account: str = DEFAULT_ACCOUNT_ID,
                        region: str = "us-east-1") -> int:
        """Registers OCSF findings (as in a ``Findings Imported V2`` event's ``detail.findings``)
        so that BatchUpdateFindingsV2 keeps their status and comment. Keyed by
        ``finding_info.uid`` and ``metadata.product.uid``."""
        count = 0
        with self.lock:
            for finding in findings:
                uid = (finding.get("finding_info") or {}).get("uid")
                product = ((finding.get("metadata") or {}).get("product") or {}).get("uid")
                if not uid or not product:
                    raise ValueError("a V2 finding needs finding_info.uid and metadata.product.uid")
                self.v2_findings[(account, region, uid, product)] = json.loads(json.dumps(finding))
                count += 1
        return count

    # -- read back / reset ---------------------------------------------------------------------
    def requests(self, version: int = 1) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(self.v1_requests if version == 1 else self.v2_requests))

    def findings_v2(self) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(list(self.v2_findings.values())))

    def reset(self) -> None:
        with self.lock:
            self.v1_requests.clear()
            self.v2_requests.clear()
            self.v2_findings.clear()

    # Control endpoints, for the wrapper's ``_dispatch`` (paths under /_test/securityhub/).
    def control(self, path: str, method: str, request: Any) -> Any:
        if path == "/_test/securityhub/batch-update-findings" and method == "GET":
            return self.requests(1)
        if path == "/_test/securityhub/batch-update-findings-v2" and method == "GET":
            return self.requests(2)
        if path == "/_test/securityhub/v2-findings" and method == "GET":
            return self.findings_v2()
        if path == "/_test/securityhub/v2-findings" and method == "POST":
            findings = request.get("findings") if isinstance(request, dict) else request
            return {"registered": self.put_v2_findings(
                findings or [],
                account=(request.get("account") if isinstance(request, dict) else None)
                or DEFAULT_ACCOUNT_ID,
                region=(request.get("region") if isinstance(request, dict) else None)
                or "us-east-1",
            )}
        if path == "/_test/securityhub" and method == "DELETE":
            self.reset()
            return {"ok": True}
        raise KeyError(f"{method} {path}")
