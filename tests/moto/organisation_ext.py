"""Test-only organisation additions for the moto test bed: several accounts, AWS Organizations,
role trust, asynchronous Lambda invocations and ``sts:AssumeRoot``.

moto 5.2.5 already serves several accounts (credentials from ``sts:AssumeRole`` act in the
account of the role) and AWS Organizations (CreateOrganization, CreateAccount with its
``OrganizationAccountAccessRole``, CloseAccount to ``SUSPENDED``, delegated administrators,
trusted service access). What it lacks, and what this module teaches it (always on, like the
other real-AWS rules of ``server.py``):

* **Role trust.** moto's AssumeRole hands out credentials for any role ARN, existing or not,
  whoever asks. Real STS refuses (``AccessDenied``, HTTP 403, "User: <caller> is not authorized
  to perform: sts:AssumeRole on resource: <role>") both a role that does not exist and a role
  whose trust policy does not allow the caller (STS API Reference, AssumeRole: "the role's trust
  policy ... specifies who can assume the role"; IAM User Guide, "Troubleshoot IAM roles", "I
  can't assume a role"). Here the trust policy is evaluated for ``sts:AssumeRole``: ``Principal``
  ``"*"``, an account (``"111122223333"`` or ``arn:aws:iam::111122223333:root``: any principal of
  it), a role ARN (its sessions), a user or session ARN; ``Deny`` statements win; conditions with
  the operators ``StringEquals``, ``StringLike``, ``ArnEquals``, ``ArnLike`` (and ``…IfExists``)
  on ``aws:PrincipalOrgID``, ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and
  ``sts:ExternalId``; any other condition is not met (fail closed). The caller's own
  identity-based permission for ``sts:AssumeRole`` is not checked (moto does not enforce it).
  A role is only ever assumed by a service through ``POST /_test/sts/service-credentials``
  (``{"role_arn", "service"?: "lambda.amazonaws.com", "session_name"?}``): the credentials Lambda
  gives a function, refused unless the role trusts that service.
* **Organizations from the delegated administrator.** ListAccounts, DescribeAccount,
  ListTagsForResource, TagResource and UntagResource "can be called only from the organization's
  management account or by a member account that is a delegated administrator for an AWS
  service" (Organizations API Reference); moto answers a member account from its own empty
  store. Here a delegated administrator reads and tags in the management account's store;
  another member gets ``AccessDeniedException``.
* **ListAccounts pages** as AWS's does: ``MaxResults`` 1 to 20 (Organizations API Reference,
  ListAccounts: "Valid Range: Minimum value of 1. Maximum value of 20"; the botocore model agrees),
  20 when not given; ``NextToken`` until the last page. moto pages 100 at a time and keys its
  tokens on ``JoinedTimestamp``, which accounts created in the same second share.
  ``POST /_test/organisation/list-accounts {"page_size": n}`` makes pages shorter than asked
  ("Organizations might return fewer results than the maximum even when there are more results
  available", ibid.); ``{"page_size": null}`` restores the default.
* **Account states**: ``POST /_test/organisation/account-state {"account_id", "state"}`` sets
  ``State`` (``PENDING_ACTIVATION``, ``ACTIVE``, ``SUSPENDED``, ``PENDING_CLOSURE``, ``CLOSED``)
  and the deprecated ``Status`` with it (``CLOSED`` shows ``SUSPENDED``, ``PENDING_ACTIVATION``
  shows ``ACTIVE``: Status has neither).
* **Lambda ``Invoke`` with ``InvocationType=Event``**: moto would try to run the function in
  Docker. Here the call is answered as Lambda does (HTTP 202, empty body; ``404
  ResourceNotFoundException`` when the function does not exist in the caller's account and
  region) and recorded: ``GET /_test/lambda/invocations`` lists each dispatched invocation
  (``function_name``, ``function_arn``, ``account``, ``region``, ``payload`` (the JSON sent),
  ``caller``), ``POST /_test/lambda/invocations/take`` returns them and forgets them (so a test
  replays each exactly once), ``DELETE /_test/lambda/invocations`` forgets them.
* **Centralized root access** (IAM User Guide, "Centrally manage root access for member
  accounts"): IAM's ``EnableOrganizationsRootCredentialsManagement``,
  ``EnableOrganizationsRootSessions``, their ``Disable…`` and ``ListOrganizationsFeatures``, with
  the errors of the IAM API Reference (``OrganizationNotFoundException``,
  ``OrganizationNotInAllFeaturesModeException``, ``ServiceAccessNotEnabledException`` when
  trusted access for ``iam.amazonaws.com`` is not enabled in Organizations,
  ``CallerIsNotManagementAccountException`` for Enable from anyone but the management account,
  ``AccountNotManagementOrDelegatedAdministratorException``).
* **``sts:AssumeRoot``** (STS API Reference, AssumeRoot; IAM User Guide, "Perform a privileged
  task on an AWS Organizations member account"): callable only with credentials of the
  management account or of the IAM delegated administrator (Organizations
  RegisterDelegatedAdministrator with ``iam.amazonaws.com``), never a root session, only with
  trusted access for IAM and ``RootSessions`` enabled; ``TargetPrincipal`` a member account (ID or
  ``arn:aws:iam::<id>:root``), never the management account, an account of another organisation,
  or one not ``ACTIVE``; ``TaskPolicyArn`` one of the five root-task policies; ``DurationSeconds``
  0 to 900, default 900. Each refusal is ``AccessDenied`` (HTTP 403) in AWS's "User: … is not
  authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::<target>:root because …" form,
  the reason naming the missing prerequisite (AWS documents the code, not these reasons); a bad
  ``DurationSeconds`` or ``TaskPolicyArn`` is ``ValidationError`` (HTTP 400).
  The credentials act as the member's root user with the task policy's actions only (see
  ``ROOT_TASK_POLICIES``), on the root user only (a ``UserName`` naming an IAM user is denied),
  until they expire (``ExpiredToken``); anything else is ``AccessDenied``. ``GetCallerIdentity``
  answers ``arn:aws:iam::<member>:root``. ``GET /_test/organisation/root-sessions`` lists the
  sessions issued (never their secrets).
* **Root user credentials per account**, which those sessions read and delete:
  ``POST /_test/organisation/root-credentials/<account>`` ``{"access_keys": [{"access_key_id"?,
  "status"?, "create_date"?, "last_used"?, "service"?, "region"?}], "login_profile":
  {"create_date"?, "password_last_used"?} | null, "mfa_devices": [{"serial_number"?,
  "enable_date"?, "virtual"?}], "signing_certificates": [{"certificate_id"?, "status"?,
  "upload_date"?}]}`` replaces them (the answer holds the generated IDs);
  ``GET /_test/organisation/root-credentials/<account>`` reads them back. The account's
  GetAccountSummary (``AccountAccessKeysPresent``, ``AccountMFAEnabled``,
  ``AccountSigningCertificatesPresent``) follows them.
* ``POST /_test/organisation/account-user {"account", "user_name"}``: an IAM user with an
  access key in any account (one outside the organisation too); the answer holds the key.
* ``POST /_test/organisation/reset`` forgets everything this module holds (not moto's state).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import random
import re
import string
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID

import securityhub_ext

PARTITION = "aws"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_SERVICE_PRINCIPAL = "iam.amazonaws.com"

#: The AWS managed policies AssumeRoot accepts as ``TaskPolicyArn`` (STS API Reference,
#: AssumeRoot, TaskPolicyArn: "You must use one of following AWS managed policies") and the
#: actions each allows. IAMAuditRootUserCredentials and IAMDeleteRootUserCredentials: the policy
#: versions published in the AWS Managed Policy Reference (as listed by
#: badele/aws-policies-analyzer-docs, policies/iam{audit,delete}rootusercredentials.md), scoped
#: to the root user ("The root session is scoped to allow the deletion of member root
#: credentials (console passwords, access keys, signing certificates, and MFA devices)", AWS
#: News Blog, centralized root access). The last three are not read by this project; their action
#: lists are not verified (no IAM action of the functions is in them).
_AUDIT_ROOT_USER_CREDENTIALS = frozenset(
    {
        "iam:GetAccessKeyLastUsed",
        "iam:GetLoginProfile",
        "iam:GetUser",
        "iam:ListAccessKeys",
        "iam:ListMFADevices",
        "iam:ListSigningCertificates",
    }
)
ROOT_TASK_POLICIES: dict[str, frozenset[str]] = {
    "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials": _AUDIT_ROOT_USER_CREDENTIALS,
    # Every action of the audit policy, and the deletions.
    "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials": _AUDIT_ROOT_USER_CREDENTIALS
    | {
        "iam:DeactivateMFADevice",
        "iam:DeleteAccessKey",
        "iam:DeleteLoginProfile",
        "iam:DeleteSigningCertificate",
        "iam:DeleteVirtualMFADevice",
    },
    "arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword": frozenset(
        {"iam:CreateLoginProfile", "iam:GetLoginProfile", "iam:GetUser"}
    ),
    "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy": frozenset(
        {"s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy"}
    ),
    "arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy": frozenset(
        {"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"}
    ),
}
#: AssumeRoot DurationSeconds: "The value can range from 0 seconds up to the maximum session
#: duration of 900 seconds (15 minutes) ... By default, the value is set to 900 seconds."
MAX_ROOT_SESSION_SECONDS = 900
#: Organizations ListAccounts MaxResults: "Valid Range: Minimum value of 1. Maximum value of 20."
MAX_ACCOUNTS_PAGE = 20
ACCOUNT_STATES = ("PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED")
ROOT_FEATURES = ("RootCredentialsManagement", "RootSessions")

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


class Refused(Exception):
    """An AWS error answer: ``code``, HTTP ``status`` and ``message``."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None, default: datetime | None = None) -> datetime | None:
    if value is None:
        return default
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _random(prefix: str, length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return prefix + "".join(random.choice(alphabet) for _ in range(length))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _form(environ: dict, body: bytes) -> dict[str, str]:
    params = parse_qs(body.decode("utf-8", "replace"))
    params.update(parse_qs(environ.get("QUERY_STRING", "")))
    return {key: values[0] for key, values in params.items()}


# -- moto's stores ------------------------------------------------------------------------------
def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def _sts(account: str):
    from moto.sts.models import sts_backends

    return sts_backends[account][PARTITION]


def _organizations(account: str):
    from moto.organizations.models import organizations_backends

    return organizations_backends[account][PARTITION]


def _management_backend(account: str):
    """The Organizations store of the organisation ``account`` belongs to, or None."""
    from moto.organizations.models import organizations_backends

    own = _organizations(account)
    if own.org is not None:
        return own
    if account in organizations_backends.master_accounts:
        management, partition = organizations_backends.master_accounts[account]
        backend = organizations_backends[management][partition]
        return backend if backend.org is not None else None
    return None


def _delegated_services(backend, account: str) -> set[str]:
    return {
        principal
        for admin in backend.admins
        if admin.account.id == account
        for principal in admin.services
    }


def _trusted_access(backend, service: str) -> bool:
    return any(s["ServicePrincipal"] == service for s in backend.services)


# -- who is calling -------------------------------------------------------------------------------
class Caller:
    """The principal a request is signed as: its account, ARN, and for a role session the role's
    ARN (with its path), as IAM policies see them."""

    def __init__(self, account: str, arn: str, role_arn: str | None = None,
                 root_session: dict | None = None) -> None:
        self.account = account
        self.arn = arn
        self.role_arn = role_arn
        self.root_session = root_session

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: the role's ARN for a role session, else the caller's ARN."""
        return self.role_arn or self.arn


# -- the trust policy ---------------------------------------------------------------------------
def _action_matches(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS")):
        value = str(value)
        if value == "*":
            return True
        account = re.fullmatch(r"(?:arn:aws:iam::)?(\d{12})(?::root)?", value)
        if account:
            if account.group(1) == caller.account:
                return True
            continue
        role = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)", value)
        if role and caller.role_arn:
            # A role named in a trust policy trusts that role's sessions.
            mine = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)", caller.role_arn)
            if mine and (mine.group(1), mine.group(2)) == (role.group(1), role.group(2)):
                return True
            continue
        if value in (caller.arn, caller.principal_arn):
            return True
    return False


def _principal_org_id(account: str) -> str | None:
    backend = _management_backend(account)
    return backend.org.id if backend is not None else None


def _condition_holds(condition: dict | None, caller: Caller, request: dict[str, str]) -> bool:
    """Every operator and key must hold; an operator or key this test bed does not know is not
    met (fail closed)."""
    if not condition:
        return True
    context: dict[str, str | None] = {
        "aws:principalorgid": _principal_org_id(caller.account),
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account,
        "sts:externalid": request.get("ExternalId"),
    }
    for operator, tests in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if base not in ("StringEquals", "StringLike", "ArnEquals", "ArnLike"):
            return False
        for key, wanted in (tests or {}).items():
            if key.lower() not in context:
                return False
            actual = context[key.lower()]
            if actual is None:
                if if_exists:
                    continue
                return False
            values = [str(v) for v in _as_list(wanted)]
            if base in ("StringEquals", "ArnEquals"):
                ok = actual in values
            else:
                ok = any(fnmatch.fnmatchcase(actual, v) for v in values)
            if not ok:
                return False
    return True


def trust_allows(document: str, caller: Caller, request: dict[str, str],
                 action: str = "sts:AssumeRole") -> bool:
    """Whether a role's trust policy lets ``caller`` do ``action`` (a Deny wins)."""
    try:
        policy = json.loads(unquote(document) if document.lstrip().startswith("%") else document)
    except ValueError:
        return False
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not _action_matches(statement.get("Action"), action):
            continue
        if not _principal_matches(statement.get("Principal"), caller):
            continue
        if not _condition_holds(statement.get("Condition"), caller, request):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def trusts_service(document: str, service: str) -> bool:
    try:
        policy = json.loads(document)
    except ValueError:
        return False
    return any(
        statement.get("Effect") == "Allow"
        and _action_matches(statement.get("Action"), "sts:AssumeRole")
        and isinstance(statement.get("Principal"), dict)
        and service in _as_list(statement["Principal"].get("Service"))
        for statement in _as_list(policy.get("Statement"))
    )


# -- answers ----------------------------------------------------------------------------------------
def _xml(start_response: Callable, status: int, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        f"{status} {'OK' if status < 300 else 'Error'}",
        [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _query_result(start_response: Callable, action: str, xmlns: str, inner: str = "") -> list[bytes]:
    result = f"<{action}Result>{inner}</{action}Result>" if inner else ""
    return _xml(
        start_response,
        200,
        f'<{action}Response xmlns="{xmlns}">{result}'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>",
    )


def error_answer(start_response: Callable, service: str, refused: Refused) -> list[bytes]:
    """An error in the protocol of ``service``: query XML for IAM and STS, JSON otherwise."""
    if service in ("iam", "sts"):
        xmlns = IAM_XMLNS if service == "iam" else STS_XMLNS
        return _xml(
            start_response,
            refused.status,
            f'<ErrorResponse xmlns="{xmlns}"><Error><Type>Sender</Type>'
            f"<Code>{escape(refused.code)}</Code><Message>{escape(refused.message)}</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )
    return securityhub_ext.json_response(
        start_response,
        refused.status,
        {"__type": refused.code, "message": refused.message, "Message": refused.message},
        refused.code,
    )


def _denied(caller_arn: str, action: str, resource: str, because: str | None = None) -> Refused:
    message = f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
    if because:
        message += f" because {because}"
    return Refused("AccessDenied", 403, message)


# -- the extension ----------------------------------------------------------------------------------
class OrganisationExt:
    """Everything above. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            # organisation ID -> enabled centralized root access features
            self.root_features: dict[str, set[str]] = {}
            # access key ID -> root session
            self.root_sessions: dict[str, dict] = {}
            # account ID -> root user credentials
            self.root_credentials: dict[str, dict] = {}
            self.invocations: list[dict] = []
            self.accounts_page_size: int | None = None

    # -- who is calling -------------------------------------------------------------------------
    def caller(self, environ: dict) -> Caller:
        access_key = securityhub_ext.credential_scope(environ)[0]
        with self.lock:
            session = self.root_sessions.get(access_key or "")
        if session is not None:
            account = session["account"]
            return Caller(account, f"arn:aws:iam::{account}:root", root_session=session)
        if access_key:
            from moto.iam.models import get_account_id_from

            account = get_account_id_from(access_key)
            assumed = _sts(account).get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                return Caller(account, assumed.arn, role_arn=assumed.role_arn)
            user = _iam(account).get_user_from_access_key_id(access_key)
            if user is not None:
                return Caller(account, user.arn)
        # Credentials moto never issued (the tests' own): moto's default identity.
        return Caller(DEFAULT_ACCOUNT_ID, f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto")

    #: The calls this module answers or checks for callers that are no root session.
    CALLS = frozenset(
        {
            "sts:AssumeRole",
            "sts:AssumeRoot",
            "iam:EnableOrganizationsRootCredentialsManagement",
            "iam:EnableOrganizationsRootSessions",
            "iam:DisableOrganizationsRootCredentialsManagement",
            "iam:DisableOrganizationsRootSessions",
            "iam:ListOrganizationsFeatures",
            "lambda:Invoke",
        }
    )

    # -- WSGI: None when moto should answer ------------------------------------------------------
    def handle(self, environ: dict, action: str, body: bytes, start_response: Callable):
        service = action.split(":", 1)[0]
        access_key = securityhub_ext.credential_scope(environ)[0] or ""
        with self.lock:
            in_root_session = access_key in self.root_sessions
        if not in_root_session and action not in self.CALLS:
            return None  # moto answers; no need to know the caller
        try:
            caller = self.caller(environ)
            if caller.root_session is not None:
                return self._root_session_call(caller, action, environ, body, start_response)
            if action == "sts:AssumeRole":
                self._check_assume_role(caller, _form(environ, body))
                return None
            if action == "sts:AssumeRoot":
                return self._assume_root(caller, _form(environ, body), start_response)
            if action.startswith("iam:"):
                return self._root_features_call(caller, action, start_response)
            if action == "lambda:Invoke" and (
                environ.get("HTTP_X_AMZ_INVOCATION_TYPE") == "Event"
            ):
                return self._invoke_event(caller, environ, body, start_response)
        except Refused as refused:
            return error_answer(start_response, service, refused)
        return None

    # -- AssumeRole -------------------------------------------------------------------------------
    def _check_assume_role(self, caller: Caller, request: dict[str, str]) -> None:
        role_arn = request.get("RoleArn", "")
        found = re.fullmatch(r"arn:aws:iam::(\d{12}):role/.+", role_arn)
        denied = _denied(caller.arn, "sts:AssumeRole", role_arn)
        if not found:
            raise denied
        try:
            role = _iam(found.group(1)).get_role_by_arn(role_arn)
        except Exception:  # moto's NotFoundException: real STS does not say the role is missing
            raise denied from None
        if not trust_allows(role.assume_role_policy_document, caller, request):
            raise denied

    def service_credentials(self, request: dict) -> dict:
        """The credentials a service (Lambda) gets for a role that trusts it."""
        role_arn = request["role_arn"]
        service = request.get("service", "lambda.amazonaws.com")
        found = re.fullmatch(r"arn:aws:iam::(\d{12}):role/.+", role_arn)
        if not found:
            raise ValueError(f"not a role ARN: {role_arn}")
        role = _iam(found.group(1)).get_role_by_arn(role_arn)
        if not trusts_service(role.assume_role_policy_document, service):
            raise ValueError(f"{role_arn} does not trust {service}")
        assumed = _sts(found.group(1)).assume_role(
            region_name="us-east-1",
            role_session_name=request.get("session_name", role.name),
            role_arn=role_arn,
            policy=None,
            duration=3600,
            external_id=None,
        )
        return {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token,
            "Arn": assumed.arn,
            "Account": found.group(1),
        }

    @staticmethod
    def account_user(request: dict) -> dict:
        """An IAM user with an access key in any account (``{"account", "user_name"}``): a way
        into an account no role leads to, such as one outside the organisation."""
        account = request["account"]
        if not re.fullmatch(r"\d{12}", account):
            raise ValueError(f"not an account ID: {account}")
        iam = _iam(account)
        iam.create_user("us-east-1", request["user_name"], "/", [])
        key = iam.create_access_key(request["user_name"])
        return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
                "Account": account}

    # -- centralized root access ----------------------------------------------------------------
    def _root_access_backend(self, caller: Caller, *, management_only: bool = False):
        backend = _management_backend(caller.account)
        if backend is None:
            raise Refused(
                "OrganizationNotFoundException",
                400,
                "The request was rejected because no organization is associated with your account.",
            )
        if backend.org.feature_set != "ALL":
            raise Refused(
                "OrganizationNotInAllFeaturesModeException",
                400,
                "The request was rejected because your organization does not have All features "
                "enabled.",
            )
        if not _trusted_access(backend, IAM_SERVICE_PRINCIPAL):
            raise Refused(
                "ServiceAccessNotEnabledException",
                400,
                "The request was rejected because trusted access is not enabled for IAM in "
                "Organizations.",
            )
        management = backend.org.master_account_id
        if management_only and caller.account != management:
            raise Refused(
                "CallerIsNotManagementAccountException",
                400,
                "The request was rejected because the account making the request is not the "
                "management account for the organization.",
            )
        if caller.account != management and IAM_SERVICE_PRINCIPAL not in _delegated_services(
            backend, caller.account
        ):
            raise Refused(
                "AccountNotManagementOrDelegatedAdministratorException",
                400,
                "The request was rejected because the account making the request is not the "
                "management account or delegated administrator account for centralized root "
                "access.",
            )
        return backend

    def _root_features_call(self, caller: Caller, action: str, start_response: Callable):
        name = action.split(":", 1)[1]
        backend = self._root_access_backend(caller, management_only=name.startswith("Enable"))
        feature = "RootSessions" if name.endswith("RootSessions") else "RootCredentialsManagement"
        with self.lock:
            enabled = self.root_features.setdefault(backend.org.id, set())
            if name.startswith("Enable"):
                enabled.add(feature)
            elif name.startswith("Disable"):
                enabled.discard(feature)
            features = sorted(enabled)
        members = "".join(f"<member>{f}</member>" for f in features)
        inner = f"<OrganizationId>{backend.org.id}</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"
        return _query_result(start_response, name, IAM_XMLNS, inner)

    def set_root_features(self, request: dict) -> dict:
        """Control: the organisation's enabled features, straight (``{"organization_id"?,
        "features": [...]}``; the organisation of the default account when not named)."""
        features = set(request.get("features") or [])
        unknown = features - set(ROOT_FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {ROOT_FEATURES}")
        org_id = request.get("organization_id")
        if not org_id:
            backend = _management_backend(request.get("account", DEFAULT_ACCOUNT_ID))
            if backend is None:
                raise ValueError("no organisation: create one first")
            org_id = backend.org.id
        with self.lock:
            self.root_features[org_id] = features
        return {"organization_id": org_id, "features": sorted(features)}

    # -- AssumeRoot -------------------------------------------------------------------------------
    def _assume_root(self, caller: Caller, request: dict[str, str], start_response: Callable):
        target = request.get("TargetPrincipal", "")
        policy_arn = request.get("TaskPolicyArn.arn", "")
        duration_text = request.get("DurationSeconds")
        if not 12 <= len(target) <= 2048:
            raise Refused(
                "ValidationError",
                400,
                f"1 validation error detected: Value '{target}' at 'targetPrincipal' failed to "
                "satisfy constraint: Member must have length greater than or equal to 12",
            )
        duration = MAX_ROOT_SESSION_SECONDS if duration_text is None else int(duration_text)
        if not 0 <= duration <= MAX_ROOT_SESSION_SECONDS:
            bound = "less than or equal to 900" if duration > 0 else "greater than or equal to 0"
            raise Refused(
                "ValidationError",
                400,
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value {bound}",
            )
        found = re.fullmatch(r"(?:arn:aws:iam::)?(\d{12})(?::root)?", target)
        resource = f"arn:aws:iam::{found.group(1) if found else target}:root"

        def denied(because: str) -> Refused:
            return _denied(caller.arn, "sts:AssumeRoot", resource, because)

        if policy_arn not in ROOT_TASK_POLICIES:
            raise Refused(
                "ValidationError",
                400,
                f"TaskPolicyArn {policy_arn or '(none)'} is not a root-task policy: use one of "
                + ", ".join(sorted(ROOT_TASK_POLICIES)),
            )
        backend = _management_backend(caller.account)
        if backend is None:
            raise denied(f"the account {caller.account} is not in an organization")
        management = backend.org.master_account_id
        if caller.account != management and IAM_SERVICE_PRINCIPAL not in _delegated_services(
            backend, caller.account
        ):
            raise denied(
                f"the account {caller.account} is neither the management account nor the "
                "delegated administrator for IAM (iam.amazonaws.com) of its organization"
            )
        if not _trusted_access(backend, IAM_SERVICE_PRINCIPAL):
            raise denied(
                "trusted access for IAM (iam.amazonaws.com) is not enabled in AWS Organizations"
            )
        with self.lock:
            enabled = set(self.root_features.get(backend.org.id, set()))
        if "RootSessions" not in enabled:
            raise denied(
                "privileged root actions in member accounts (centralized root access, "
                "RootSessions) are not enabled for the organization"
            )
        if not found:
            raise denied(f"{target} is not a member account ID")
        account_id = found.group(1)
        if account_id == management:
            raise denied(
                f"{account_id} is the organization's management account: AssumeRoot reaches "
                "member accounts only"
            )
        account = next((a for a in backend.accounts if a.id == account_id), None)
        if account is None:
            raise denied(f"{account_id} is not a member account of the organization")
        if account.state != "ACTIVE":
            raise denied(f"the account {account_id} is {account.state}")

        access_key = _random("ASIA", 16)
        secret = _random("", 40, string.ascii_letters + string.digits + "/+")
        token = _random("", 356, string.ascii_letters + string.digits + "/+=")
        expires = _now() + timedelta(seconds=duration)
        with self.lock:
            self.root_sessions[access_key] = {
                "account": account_id,
                "task_policy_arn": policy_arn,
                "duration_seconds": duration,
                "expires": expires,
                "caller": caller.arn,
                "caller_account": caller.account,
                "issued_at": _now(),
            }
        inner = (
            f"<Credentials><AccessKeyId>{access_key}</AccessKeyId>"
            f"<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>"
            f"<Expiration>{_iso(expires)}</Expiration></Credentials>"
        )
        return _query_result(start_response, "AssumeRoot", STS_XMLNS, inner)

    def root_sessions_issued(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "access_key_id": key,
                    "account": s["account"],
                    "task_policy_arn": s["task_policy_arn"],
                    "duration_seconds": s["duration_seconds"],
                    "expires": _iso(s["expires"]),
                    "issued_at": _iso(s["issued_at"]),
                    "caller": s["caller"],
                    "caller_account": s["caller_account"],
                }
                for key, s in self.root_sessions.items()
            ]

    # -- what a root session may do ----------------------------------------------------------------
    def _root_session_call(self, caller: Caller, action: str, environ: dict, body: bytes,
                           start_response: Callable):
        session = caller.root_session
        service = action.split(":", 1)[0]
        if _now() >= session["expires"]:
            raise Refused("ExpiredToken", 403, "The security token included in the request is expired")
        if action == "sts:GetCallerIdentity":
            inner = (
                f"<UserId>{caller.account}</UserId><Account>{caller.account}</Account>"
                f"<Arn>{caller.arn}</Arn>"
            )
            return _query_result(start_response, "GetCallerIdentity", STS_XMLNS, inner)
        request = _form(environ, body)
        allowed = ROOT_TASK_POLICIES[session["task_policy_arn"]]
        resource = caller.arn
        if request.get("UserName"):
            resource = f"arn:aws:iam::{caller.account}:user/{request['UserName']}"
        if action not in allowed or request.get("UserName"):
            raise _denied(
                caller.arn, action, resource, f"no session policy allows the {action} action"
            )
        name = action.split(":", 1)[1]
        with self.lock:
            credentials = self._root_of(caller.account)
            inner = self._root_iam(name, credentials, caller.account, request)
            self._sync_summary(caller.account, credentials)
        return _query_result(start_response, name, IAM_XMLNS, inner)

    @staticmethod
    def _sync_summary(account: str, root: dict) -> None:
        """GetAccountSummary's root user fields follow the seeded credentials
        (``AccountAccessKeysPresent``, ``AccountMFAEnabled``, ``AccountSigningCertificatesPresent``:
        "1 if the root user has …", IAM API Reference, GetAccountSummary)."""
        summary = _iam(account).account_summary
        summary._account_access_keys_present = int(bool(root["access_keys"]))
        summary._account_mfa_enabled = int(any(d["enabled"] for d in root["mfa_devices"]))
        summary._account_signing_certificates_present = int(bool(root["signing_certificates"]))

    def _root_of(self, account: str) -> dict:
        return self.root_credentials.setdefault(
            account,
            {"access_keys": [], "login_profile": None, "mfa_devices": [], "signing_certificates": []},
        )

    @staticmethod
    def _root_iam(name: str, root: dict, account: str, request: dict[str, str]) -> str:
        """The result of one IAM call on the root user (the caller holds the lock)."""

        def no_such(message: str) -> Refused:
            return Refused("NoSuchEntity", 404, message)

        def key_named(key_id: str) -> dict:
            for key in root["access_keys"]:
                if key["access_key_id"] == key_id:
                    return key
            raise no_such(f"The Access Key with id {key_id} cannot be found.")

        def device_named(serial: str) -> dict:
            for device in root["mfa_devices"]:
                if device["serial_number"] == serial:
                    return device
            raise no_such(f"MFA Device with serial number {serial} does not exist.")

        if name == "GetUser":
            profile = root["login_profile"] or {}
            used = profile.get("password_last_used")
            return (
                f"<User><Path>/</Path><UserId>{account}</UserId>"
                f"<Arn>arn:aws:iam::{account}:root</Arn>"
                f"<CreateDate>{root.get('create_date', '2020-01-01T00:00:00Z')}</CreateDate>"
                + (f"<PasswordLastUsed>{used}</PasswordLastUsed>" if used else "")
                + "</User>"
            )
        if name == "ListAccessKeys":
            members = "".join(
                f"<member><AccessKeyId>{k['access_key_id']}</AccessKeyId>"
                f"<Status>{k['status']}</Status><CreateDate>{k['create_date']}</CreateDate></member>"
                for k in root["access_keys"]
            )
            return f"<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
        if name == "GetAccessKeyLastUsed":
            key = key_named(request.get("AccessKeyId", ""))
            if key.get("last_used"):
                used = (
                    f"<LastUsedDate>{key['last_used']}</LastUsedDate>"
                    f"<ServiceName>{key.get('service', 'iam')}</ServiceName>"
                    f"<Region>{key.get('region', 'us-east-1')}</Region>"
                )
            else:
                used = "<ServiceName>N/A</ServiceName><Region>N/A</Region>"
            return f"<AccessKeyLastUsed>{used}</AccessKeyLastUsed>"
        if name == "DeleteAccessKey":
            key = key_named(request.get("AccessKeyId", ""))
            root["access_keys"].remove(key)
            return ""
        if name == "GetLoginProfile":
            profile = root["login_profile"]
            if profile is None:
                raise no_such("Login Profile for the root user cannot be found.")
            return (
                f"<LoginProfile><CreateDate>{profile['create_date']}</CreateDate>"
                "<PasswordResetRequired>false</PasswordResetRequired></LoginProfile>"
            )
        if name == "DeleteLoginProfile":
            if root["login_profile"] is None:
                raise no_such("Login Profile for the root user cannot be found.")
            root["login_profile"] = None
            return ""
        if name == "CreateLoginProfile":
            if root["login_profile"] is not None:
                raise Refused("EntityAlreadyExists", 409, "Login Profile for the root user already exists.")
            root["login_profile"] = {"create_date": _iso(_now()), "password_last_used": None}
            return (
                f"<LoginProfile><CreateDate>{root['login_profile']['create_date']}</CreateDate>"
                "<PasswordResetRequired>false</PasswordResetRequired></LoginProfile>"
            )
        if name == "ListMFADevices":
            members = "".join(
                f"<member><SerialNumber>{escape(d['serial_number'])}</SerialNumber>"
                f"<EnableDate>{d['enable_date']}</EnableDate></member>"
                for d in root["mfa_devices"]
                if d["enabled"]
            )
            return f"<MFADevices>{members}</MFADevices><IsTruncated>false</IsTruncated>"
        if name == "DeactivateMFADevice":
            device = device_named(request.get("SerialNumber", ""))
            if not device["enabled"]:
                raise no_such(f"MFA Device with serial number {device['serial_number']} is not enabled.")
            device["enabled"] = False
            if not device["virtual"]:
                root["mfa_devices"].remove(device)
            return ""
        if name == "DeleteVirtualMFADevice":
            device = device_named(request.get("SerialNumber", ""))
            if not device["virtual"]:
                raise no_such(f"VirtualMFADevice with serial number {device['serial_number']} doesn't exist.")
            if device["enabled"]:
                raise Refused("DeleteConflict", 409, "MFA Device is still in use.")
            root["mfa_devices"].remove(device)
            return ""
        if name == "ListSigningCertificates":
            members = "".join(
                f"<member><CertificateId>{c['certificate_id']}</CertificateId>"
                f"<CertificateBody>{escape(c['certificate_body'])}</CertificateBody>"
                f"<Status>{c['status']}</Status><UploadDate>{c['upload_date']}</UploadDate></member>"
                for c in root["signing_certificates"]
            )
            return f"<Certificates>{members}</Certificates><IsTruncated>false</IsTruncated>"
        if name == "DeleteSigningCertificate":
            wanted = request.get("CertificateId", "")
            for certificate in root["signing_certificates"]:
                if certificate["certificate_id"] == wanted:
                    root["signing_certificates"].remove(certificate)
                    return ""
            raise no_such(f"The Certificate with id {wanted} cannot be found.")
        raise Refused("AccessDenied", 403, f"iam:{name} is not emulated for root sessions")

    # -- root credentials, seeded -------------------------------------------------------------------
    def seed_root_credentials(self, account: str, request: dict) -> dict:
        if not re.fullmatch(r"\d{12}", account):
            raise ValueError(f"not an account ID: {account}")
        default_date = "2020-01-01T00:00:00Z"

        def date(value: str | None) -> str | None:
            return None if value is None else _iso(_parse_time(value))

        keys = [
            {
                "access_key_id": k.get("access_key_id") or _random("AKIA", 16),
                "status": k.get("status", "Active"),
                "create_date": date(k.get("create_date")) or default_date,
                "last_used": date(k.get("last_used")),
                "service": k.get("service", "iam"),
                "region": k.get("region", "us-east-1"),
            }
            for k in request.get("access_keys") or []
        ]
        profile = request.get("login_profile")
        devices = [
            {
                "serial_number": d.get("serial_number")
                or (f"arn:aws:iam::{account}:mfa/root-account-mfa-device" if d.get("virtual", True)
                    else _random("GAHT", 8, string.digits)),
                "enable_date": date(d.get("enable_date")) or default_date,
                "virtual": bool(d.get("virtual", True)),
                "enabled": True,
            }
            for d in request.get("mfa_devices") or []
        ]
        certificates = [
            {
                "certificate_id": c.get("certificate_id") or _random("", 32),
                "status": c.get("status", "Active"),
                "upload_date": date(c.get("upload_date")) or default_date,
                "certificate_body": c.get(
                    "certificate_body",
                    "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----",
                ),
            }
            for c in request.get("signing_certificates") or []
        ]
        root = {
            "access_keys": keys,
            "login_profile": None
            if profile is None
            else {
                "create_date": date(profile.get("create_date")) or default_date,
                "password_last_used": date(profile.get("password_last_used")),
            },
            "mfa_devices": devices,
            "signing_certificates": certificates,
        }
        with self.lock:
            self.root_credentials[account] = root
            self._sync_summary(account, root)
        return self.read_root_credentials(account)

    def read_root_credentials(self, account: str) -> dict:
        with self.lock:
            root = json.loads(json.dumps(self._root_of(account)))
        for certificate in root["signing_certificates"]:
            certificate.pop("certificate_body", None)
        return root

    # -- Lambda Invoke, InvocationType=Event ----------------------------------------------------------
    def _invoke_event(self, caller: Caller, environ: dict, body: bytes, start_response: Callable):
        from moto.awslambda.models import lambda_backends

        match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        name = unquote(match.group("name")) if match else ""
        region = securityhub_ext.credential_scope(environ)[1] or "us-east-1"
        qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
        arn_account = re.match(r"arn:aws:lambda:[^:]+:(\d{12}):function:", name)
        account = arn_account.group(1) if arn_account else caller.account
        try:
            function = lambda_backends[account][region].get_function(name, qualifier)
        except Exception:
            short = name.rsplit(":function:", 1)[-1]
            raise Refused(
                "ResourceNotFoundException",
                404,
                f"Function not found: arn:aws:lambda:{region}:{account}:function:{short}",
            ) from None
        try:
            payload: Any = json.loads(body) if body else None
        except ValueError:
            raise Refused(
                "InvalidRequestContentException", 400, "Could not parse request body into json"
            ) from None
        with self.lock:
            self.invocations.append(
                {
                    "function_name": function.function_name,
                    "function_arn": function.function_arn,
                    "account": account,
                    "region": region,
                    "qualifier": qualifier,
                    "payload": payload,
                    "caller": caller.arn,
                    "invoked_at": _iso(_now()),
                }
            )
        start_response(
            "202 Accepted",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", "0"),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [b""]

    # -- Organizations ---------------------------------------------------------------------------------
    def list_accounts_page(self, backend, max_results: int | None, next_token: str | None):
        """One page of ListAccounts, as AWS pages it."""
        from moto.organizations.exceptions import InvalidInputException

        if max_results is not None and not 1 <= max_results <= MAX_ACCOUNTS_PAGE:
            raise InvalidInputException(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
                f"satisfy constraint: Member must have value between 1 and {MAX_ACCOUNTS_PAGE}"
            )
        start = 0
        if next_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(next_token.encode()))
                start = int(token["offset"])
                if token["org"] != backend.org.id or start < 0:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise InvalidInputException("You specified an invalid value for nextToken.") from None
        size = max_results or MAX_ACCOUNTS_PAGE
        with self.lock:
            if self.accounts_page_size:
                size = min(size, self.accounts_page_size)
        accounts = [account.describe() for account in backend.accounts]
        page = accounts[start : start + size]
        token_out = None
        if start + size < len(accounts):
            token_out = base64.urlsafe_b64encode(
                json.dumps({"offset": start + size, "org": backend.org.id}).encode()
            ).decode()
        return page, token_out

    def set_account_state(self, request: dict) -> dict:
        account_id = request["account_id"]
        state = request["state"]
        if state not in ACCOUNT_STATES:
            raise ValueError(f"state must be one of {ACCOUNT_STATES}")
        backend = _management_backend(account_id)
        if backend is None:
            raise KeyError(f"account {account_id} is in no organisation")
        account = backend.get_account_by_id(account_id)
        account.state = state
        account.status = {"CLOSED": "SUSPENDED", "PENDING_ACTIVATION": "ACTIVE"}.get(state, state)
        return account.describe()

    # -- control endpoints -----------------------------------------------------------------------------
    def control(self, path: str, method: str, request: Any):
        if path == "/_test/sts/service-credentials" and method == "POST":
            return self.service_credentials(request)
        if path == "/_test/lambda/invocations" and method == "GET":
            with self.lock:
                return json.loads(json.dumps(self.invocations))
        if path == "/_test/lambda/invocations/take" and method == "POST":
            with self.lock:
                taken = json.loads(json.dumps(self.invocations))
                self.invocations.clear()
            return taken
        if path == "/_test/lambda/invocations" and method == "DELETE":
            with self.lock:
                self.invocations.clear()
            return {"ok": True}
        if path == "/_test/organisation/root-features" and method == "POST":
            return self.set_root_features(request)
        if path == "/_test/organisation/root-sessions" and method == "GET":
            return self.root_sessions_issued()
        if path.startswith("/_test/organisation/root-credentials/"):
            account = path.rsplit("/", 1)[1]
            if method == "POST":
                return self.seed_root_credentials(account, request)
            if method == "GET":
                return self.read_root_credentials(account)
        if path == "/_test/organisation/account-user" and method == "POST":
            return self.account_user(request)
        if path == "/_test/organisation/account-state" and method == "POST":
            return self.set_account_state(request)
        if path == "/_test/organisation/list-accounts" and method == "POST":
            size = request.get("page_size")
            with self.lock:
                self.accounts_page_size = None if size is None else int(size)
            return {"ok": True}
        if path == "/_test/organisation/reset" and method == "POST":
            self.reset()
            return {"ok": True}
        raise KeyError(f"{method} {path}")


def rest_action(environ: dict) -> str | None:
    """``lambda:Invoke`` for a Lambda Invoke request (a REST call with no action name)."""
    if securityhub_ext.credential_scope(environ)[2] != "lambda":
        return None
    if environ.get("REQUEST_METHOD") == "POST" and INVOKE_PATH.match(environ.get("PATH_INFO", "")):
        return "lambda:Invoke"
    return None


def teach_moto(ext: OrganisationExt) -> None:
    """Organizations reads from a delegated administrator, and ListAccounts paging (see the
    module's docstring)."""
    from moto.organizations.exceptions import OrganizationsClientError
    from moto.organizations.models import (
        FakeDelegatedAdministrator,
        FakeServiceAccess,
        OrganizationsBackend,
    )

    # IAM integrates with Organizations as iam.amazonaws.com (trusted access and a delegated
    # administrator: Organizations User Guide, "AWS Identity and Access Management and AWS
    # Organizations"); moto's list of trusted services lacks it.
    # Security Hub's delegated administrator is the security account of the design.
    if IAM_SERVICE_PRINCIPAL not in FakeServiceAccess.TRUSTED_SERVICES:
        FakeServiceAccess.TRUSTED_SERVICES.append(IAM_SERVICE_PRINCIPAL)
    for service in (IAM_SERVICE_PRINCIPAL, "securityhub.amazonaws.com"):
        if service not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(service)

    def readable(backend):
        """The store ``backend``'s account may read: its own organisation's, from the management
        account or a delegated administrator."""
        if backend.org is not None:
            return backend
        management = _management_backend(backend.account_id)
        if management is None:
            return backend  # moto's own AWSOrganizationsNotInUseException follows
        if not _delegated_services(management, backend.account_id):
            raise OrganizationsClientError(
                "AccessDeniedException", "You don't have permissions to access this resource."
            )
        return management

    def list_accounts(self, max_results: int | None = None, next_token: str | None = None):
        backend = readable(self)
        if backend.org is None:
            from moto.organizations.exceptions import AWSOrganizationsNotInUseException

            raise AWSOrganizationsNotInUseException
        return ext.list_accounts_page(backend, max_results, next_token)

    OrganizationsBackend.list_accounts = list_accounts

    # TagResource and UntagResource: "This operation can be called only from the organization's
    # management account or by a member account that is a delegated administrator for an AWS
    # service" (Organizations API Reference, TagResource, UntagResource), like the reads above;
    # root-credentials keeps its warnings as tags on member accounts from the delegated
    # administrator. Not emulated: a resource-based delegation policy (Organizations User Guide,
    # "Delegated administrator for AWS Organizations"), which moto does not implement.
    for name in ("describe_account", "list_tags_for_resource", "tag_resource", "untag_resource"):
        original = getattr(OrganizationsBackend, name)

        def delegated(self, *args, _original=original, **kwargs):
            return _original(readable(self), *args, **kwargs)

        setattr(OrganizationsBackend, name, delegated)
