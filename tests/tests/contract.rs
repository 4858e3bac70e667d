//! The behaviours every function shares, tested once, as a table over the four: dry run,
//! `MAX_ACTIONS`, the function's own identity, exemptions that cannot be read, throttling, bad
//! input, Config rule evaluations, Config compliance changes (the principal they name, and
//! `COMPLIANT`), CloudTrail calls that failed, and the same event twice or two at once. Each
//! function supplies how to give the account one offender and how to tell it was fixed; the
//! per-function test files keep only what is each function's own.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use iam_remediation::intake::TriggerKind;
use iam_remediation::{ActionRecord, Error, Principal, Report, Status};
use integration_tests::{
    EXEMPT, Moto, action_for, assert_action, assert_too_many_actions, compliance_change,
    has_password, inline_names, invoke, key_status, minimum_password_length, sample_event,
    schedule, set_minimum_password_length, snapshot, tag_user, unique_id, user_with_key,
    user_with_password, user_with_policy, with,
};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    AccessKeys,
    ConsolePasswords,
    PasswordPolicy,
    InlinePolicies,
}

use Function::{AccessKeys, ConsolePasswords, InlinePolicies, PasswordPolicy};

const ALL: [Function; 4] = [AccessKeys, ConsolePasswords, PasswordPolicy, InlinePolicies];
/// The functions that act on principals (password-policy acts on the account alone).
const ON_PRINCIPALS: [Function; 3] = [AccessKeys, ConsolePasswords, InlinePolicies];

impl Function {
    /// Its name, and the change a run makes, as the test bed counts it (`service:Action`).
    fn name_and_change(self) -> (&'static str, &'static str) {
        match self {
            AccessKeys => ("access-keys", "iam:UpdateAccessKey"),
            ConsolePasswords => ("console-passwords", "iam:DeleteLoginProfile"),
            PasswordPolicy => ("password-policy", "iam:UpdateAccountPasswordPolicy"),
            InlinePolicies => ("inline-policies", "iam:CreatePolicy"),
        }
    }

    fn name(self) -> &'static str {
        self.name_and_change().0
    }

    /// The change a run makes, as the test bed counts it (`service:Action`).
    fn change_call(self) -> &'static str {
        self.name_and_change().1
    }

    fn event(self, name: &str) -> Value {
        sample_event(self.name(), name)
    }

    fn schedule(self) -> Value {
        schedule(self.name())
    }

    /// The principal an action on user `name` names (password-policy's: the account).
    fn principal(self, name: &str) -> &str {
        if self == PasswordPolicy {
            "account"
        } else {
            name
        }
    }

    async fn invoke(
        self,
        moto: &Moto,
        pairs: &[(&str, &str)],
        event: Value,
    ) -> Result<Report, Error> {
        match self {
            AccessKeys => invoke(&moto.access_keys(pairs), event).await,
            ConsolePasswords => invoke(&moto.console_passwords(pairs), event).await,
            PasswordPolicy => invoke(&moto.password_policy(pairs), event).await,
            InlinePolicies => invoke(&moto.inline_policies(pairs), event).await,
        }
    }

    /// A fresh test bed where user `name` (password-policy: the account) has something this
    /// function fixes, and the action's target. The calls seeding takes are not counted.
    async fn offended(self, name: &str) -> (Moto, String) {
        let moto = Moto::start();
        let target = self.seed_offender(&moto, name).await;
        (moto, target)
    }

    /// Gives user `name` (password-policy: the account) something this function fixes; returns
    /// the action's target. The calls it takes are not counted.
    async fn seed_offender(self, moto: &Moto, name: &str) -> String {
        let target = self.seed(moto, name).await;
        moto.reset_calls();
        target
    }

    async fn seed(self, moto: &Moto, name: &str) -> String {
        let iam = moto.iam();
        let target = match self {
            AccessKeys => return user_with_key(moto, name, 200, Some(1)).await,
            ConsolePasswords => {
                user_with_password(moto, name, 200, None).await;
                "login-profile"
            }
            PasswordPolicy => {
                set_minimum_password_length(&iam, 8).await;
                "password-policy"
            }
            InlinePolicies => {
                user_with_policy(&iam, name, "s3-read", "s3:GetObject").await;
                "s3-read"
            }
        };
        target.into()
    }

    /// True when `name`'s (or the account's) offence is gone.
    async fn fixed(self, moto: &Moto, name: &str, target: &str) -> bool {
        let iam = moto.iam();
        match self {
            AccessKeys => key_status(&iam, name, target).await.as_deref() == Some("Inactive"),
            ConsolePasswords => !has_password(&iam, name).await,
            PasswordPolicy => minimum_password_length(&iam).await == Some(14),
            InlinePolicies => inline_names(&iam, &Principal::user(name)).await.is_empty(),
        }
    }

    /// The report's action on user `name`'s (or the account's) `target`.
    fn action<'a>(self, report: &'a Report, name: &str, target: &str) -> &'a ActionRecord {
        action_for(report, self.principal(name), target)
    }

    /// The call that reads a principal's tags when it is named alone.
    fn tag_read(self) -> &'static str {
        match self {
            AccessKeys => "iam:ListUserTags",
            _ => "iam:GetUser",
        }
    }

    /// A scheduled sweep, for a report.
    async fn sweep(self, moto: &Moto) -> Report {
        self.invoke(moto, &[], self.schedule()).await.unwrap()
    }

    /// The call a sweep reads the account with first.
    fn account_read(self) -> &'static str {
        match self {
            AccessKeys | ConsolePasswords => "iam:GenerateCredentialReport",
            PasswordPolicy => "iam:GetAccountPasswordPolicy",
            InlinePolicies => "iam:GetAccountAuthorizationDetails",
        }
    }

    /// A manual payload naming user `name` (password-policy takes none: the account).
    fn manual(self, name: &str) -> Value {
        match self {
            PasswordPolicy => json!({}),
            _ => json!({"users": [name]}),
        }
    }

    /// The sample events of a dry-run manual payload this function ships.
    fn manual_dry_runs(self) -> &'static [&'static str] {
        match self {
            PasswordPolicy => &["manual-account-dry-run"],
            _ => &["manual-users-dry-run", "manual-account-dry-run"],
        }
    }

    /// The samples of a Config rule's compliance change this function takes (about a user;
    /// password-policy's: about the account).
    fn compliance_changes(self) -> &'static [&'static str] {
        match self {
            AccessKeys => &[
                "config-compliance-access-keys-rotated",
                "config-compliance-unused-credentials",
            ],
            ConsolePasswords => &["config-compliance-unused-credentials"],
            PasswordPolicy => &["config-compliance-iam-password-policy"],
            InlinePolicies => &["config-compliance-user"],
        }
    }

    /// A compliance change (the sample `sample`) about user `name` (password-policy: the
    /// account), `NON_COMPLIANT` or `COMPLIANT`.
    async fn compliance_change(
        self,
        moto: &Moto,
        sample: &str,
        name: &str,
        compliant: bool,
    ) -> Value {
        let id = match self {
            PasswordPolicy => None,
            _ => Some(unique_id(&moto.iam(), &Principal::user(name)).await),
        };
        compliance_change(self.name(), sample, id.as_deref(), compliant)
    }

    /// The sample event of a CloudTrail call that failed (and so changed nothing).
    fn failed_call(self) -> Value {
        self.event(match self {
            AccessKeys => "cloudtrail-create-access-key-failed",
            ConsolePasswords => "cloudtrail-create-login-profile-failed",
            PasswordPolicy => "cloudtrail-delete-account-password-policy-failed",
            InlinePolicies => "cloudtrail-put-user-policy-failed",
        })
    }

    /// A CloudTrail sample naming a user (`requestParameters.userName`).
    fn cloudtrail_naming_a_user(self) -> &'static str {
        match self {
            AccessKeys => "cloudtrail-create-access-key",
            ConsolePasswords => "cloudtrail-create-login-profile",
            PasswordPolicy => "cloudtrail-update-account-password-policy",
            InlinePolicies => "cloudtrail-put-user-policy",
        }
    }

    /// The function's bad inputs, with what the error says, beyond those every function refuses
    /// alike.
    fn bad_inputs(self) -> Vec<(Value, &'static str)> {
        let sample =
            |name: &str, pointer: &str, value: Value| with(self.event(name), pointer, value);
        let order =
            |action: &str| json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": action});
        let trail = self.cloudtrail_naming_a_user();
        let mut cases = Vec::new();
        if self != PasswordPolicy {
            // Users that do not exist, named by CloudTrail or by their unique ID (Config).
            let ghost = sample(trail, "/detail/requestParameters/userName", json!("ghost"));
            cases.push((ghost, "user ghost does not exist"));
            let compliance = self.compliance_changes()[0];
            let unknown = sample(
                compliance,
                "/detail/resourceId",
                json!("AIDANOSUCHUSER000000"),
            );
            cases.push((
                unknown,
                "user with unique ID AIDANOSUCHUSER000000 does not exist",
            ));
        }
        if self != AccessKeys {
            let exposed = sample_event("access-keys", "health-credentials-exposed");
            cases.push((exposed, "unknown event"));
        }
        if matches!(self, ConsolePasswords | InlinePolicies) {
            cases.push((order("delete"), "unknown field `access_key_id`"));
        }
        if matches!(self, AccessKeys | ConsolePasswords) {
            cases.push((json!({"groups": ["admins"]}), "`groups` is not accepted"));
        }
        cases.extend(self.own_bad_inputs());
        cases
    }

    /// The bad inputs this function alone has, with what the error says.
    fn own_bad_inputs(self) -> Vec<(Value, &'static str)> {
        let sample =
            |name: &str, pointer: &str, value: Value| with(self.event(name), pointer, value);
        let health = |pointer: &str, value: Value| {
            with(
                sample_event("access-keys", "health-credentials-exposed"),
                pointer,
                value,
            )
        };
        let trail = self.cloudtrail_naming_a_user();
        let named = "/detail/requestParameters";
        let on = "/detail/eventName";
        let resource = "/detail/resourceType";
        match self {
            AccessKeys => vec![
                (
                    json!({"access_key_id": "AKIANOSUCHKEY0000000", "action": "delete"}),
                    "access key AKIANOSUCHKEY0000000 does not exist",
                ),
                (
                    json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE"}),
                    "needs `action`",
                ),
                (json!({"action": "delete"}), "needs `access_key_id`"),
                (
                    json!({"access_key_id": "nope", "action": "delete"}),
                    "not an access key ID",
                ),
                (
                    json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "explode"}),
                    "explode",
                ),
                (
                    json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete", "users": ["alice"]}),
                    "not both",
                ),
                (
                    health(
                        "/detail/affectedEntities",
                        json!([{"entityValue": "alice"}]),
                    ),
                    "not an access key ID",
                ),
                (
                    health("/detail/eventTypeCode", json!("AWS_EC2_MAINTENANCE")),
                    "AWS_EC2_MAINTENANCE is not handled here",
                ),
            ],
            ConsolePasswords => vec![(
                sample("cloudtrail-update-login-profile", named, json!({})),
                "UpdateLoginProfile names no user",
            )],
            PasswordPolicy => vec![
                (json!({"dry_run": "yes"}), "manual payload"),
                (json!({"users": ["alice"]}), "`users` is not accepted"),
                (json!({"roles": ["admin"]}), "`roles` is not accepted"),
                (
                    sample(trail, on, json!("CreateAccessKey")),
                    "CloudTrail event CreateAccessKey is not handled here",
                ),
                (
                    sample(
                        self.compliance_changes()[0],
                        resource,
                        json!("AWS::IAM::User"),
                    ),
                    "resource type AWS::IAM::User is not the account",
                ),
            ],
            InlinePolicies => vec![
                (json!({"groups": ["ghosts"]}), "group ghosts does not exist"),
                (
                    json!({"roles": ["ci-deploy"]}),
                    "`roles` given, but roles are not covered here",
                ),
                (
                    sample(trail, named, json!({"userName": "alice"})),
                    "PutUserPolicy names no policyName",
                ),
                (
                    sample(
                        trail,
                        "/detail/requestParameters/policyName",
                        json!("no spaces allowed"),
                    ),
                    "not a valid IAM name",
                ),
                (
                    sample(trail, on, json!("CreateAccessKey")),
                    "CreateAccessKey is not handled",
                ),
                (
                    sample("config-compliance-user", resource, json!("AWS::S3::Bucket")),
                    "AWS::S3::Bucket is not an IAM user, group or role",
                ),
            ],
        }
    }
}

#[tokio::test]
async fn a_dry_run_plans_and_changes_nothing() {
    for function in ALL {
        let (moto, target) = function.offended("alice").await;
        let before = snapshot(&moto.iam()).await;

        let report = function
            .invoke(&moto, &[("DRY_RUN", "true")], function.schedule())
            .await
            .unwrap();
        assert!(report.dry_run, "{function:?}");
        assert_eq!(
            function.action(&report, "alice", &target).status,
            Status::Planned,
            "{function:?}"
        );
        assert!(
            report.actions.iter().all(|a| a.status == Status::Planned),
            "{report:#?}"
        );
        assert_eq!(snapshot(&moto.iam()).await, before, "{function:?}");
        assert_eq!(
            moto.calls().get(function.change_call()),
            None,
            "{function:?}"
        );

        // A manual payload's dry_run overrides DRY_RUN=false for that invocation.
        for sample in function.manual_dry_runs() {
            let report = function
                .invoke(&moto, &[], function.event(sample))
                .await
                .unwrap();
            assert_eq!(report.trigger, TriggerKind::Manual);
            assert!(report.dry_run, "{function:?} {sample}");
            assert_eq!(
                function.action(&report, "alice", &target).status,
                Status::Planned,
                "{function:?} {sample}"
            );
            assert_eq!(snapshot(&moto.iam()).await, before, "{function:?} {sample}");
        }
    }
}

#[tokio::test]
async fn more_changes_than_max_actions_are_refused_and_nothing_changes() {
    // password-policy makes one change at most: it can never be over MAX_ACTIONS (at least 1).
    for function in ON_PRINCIPALS {
        let moto = Moto::start();
        for user in ["a", "b", "c"] {
            function.seed_offender(&moto, user).await;
        }
        let before = snapshot(&moto.iam()).await;

        let err = function
            .invoke(&moto, &[("MAX_ACTIONS", "2")], function.schedule())
            .await
            .unwrap_err();

        assert_too_many_actions(&err, 3, 2, &format!("{function:?}"));
        assert!(
            err.to_string().contains('3') && err.to_string().contains("MAX_ACTIONS=2"),
            "{err}"
        );
        assert_eq!(snapshot(&moto.iam()).await, before, "{function:?}");

        // Exempt principals are not changes: the same account fits once one of them is exempt.
        tag_user(&moto.iam(), "c", EXEMPT, "true").await;
        let report = function
            .invoke(&moto, &[("MAX_ACTIONS", "2")], function.schedule())
            .await
            .unwrap();
        assert_eq!(
            report.count(Status::Applied),
            2,
            "{function:?}: {report:#?}"
        );
        assert_eq!(report.count(Status::Skipped), 1, "{function:?}");
    }
}

#[tokio::test]
async fn the_identity_the_function_runs_as_is_never_acted_on() {
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto.
    for function in ON_PRINCIPALS {
        let (moto, target) = function.offended("moto").await;
        let mut events = vec![function.schedule(), function.manual("moto")];
        if function == AccessKeys {
            // Not even by an operator's order.
            events.push(json!({"access_key_id": target, "action": "delete"}));
        }
        for event in events {
            let report = function.invoke(&moto, &[], event.clone()).await.unwrap();
            let action = function.action(&report, "moto", &target);
            assert_action(action, Status::Skipped, "runs as this identity");
            assert!(
                !function.fixed(&moto, "moto", &target).await,
                "{function:?} {event}"
            );
        }
    }
}

/// An exemption that cannot be read fails closed: the principal is never acted on, whether the
/// tags come from their own call (skipped, naming why) or with the facts (the read fails, the
/// run is an error).
#[tokio::test]
async fn exemptions_that_cannot_be_read_fail_closed() {
    let cases = ON_PRINCIPALS.into_iter().flat_map(|function| {
        // The tags of a principal named alone come from their own call; a sweep's with the
        // account's facts.
        let named = (function, function.tag_read(), json!({"users": ["alice"]}));
        let facts = "iam:GetAccountAuthorizationDetails";
        [named, (function, facts, function.schedule())]
    });
    for (function, denied, event) in cases {
        let (moto, target) = function.offended("alice").await;
        let before = snapshot(&moto.iam()).await;
        moto.inject_fault(denied, "AccessDenied", 403, 1, 0);

        let result = function.invoke(&moto, &[], event.clone()).await;

        match result {
            Ok(report) => {
                let action = function.action(&report, "alice", &target);
                assert_action(action, Status::Skipped, "failing closed");
            }
            Err(err) => assert!(
                err.to_string().contains(&format!(
                    "{} failed: AccessDenied",
                    denied.trim_start_matches("iam:")
                )),
                "{function:?} {denied}: {err}"
            ),
        }
        assert_eq!(snapshot(&moto.iam()).await, before, "{function:?} {denied}");
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    for function in ALL {
        let (moto, target) = function.offended("alice").await;
        moto.inject_fault(function.change_call(), "Throttling", 400, 2, 0);
        moto.inject_fault(function.account_read(), "ServiceFailure", 500, 1, 0);

        let report = function.sweep(&moto).await;

        assert_eq!(
            function.action(&report, "alice", &target).status,
            Status::Applied,
            "{function:?}"
        );
        assert!(
            function.fixed(&moto, "alice", &target).await,
            "{function:?}"
        );
        assert_eq!(
            moto.calls()[function.change_call()],
            3,
            "{function:?}: two retries"
        );
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    for function in ALL {
        let moto = Moto::start();
        function.seed_offender(&moto, "alice").await;
        let before = snapshot(&moto.iam()).await;
        let mut cases = vec![
            (json!([1, 2, 3]), "expected a JSON object, got an array"),
            (json!("schedule"), "expected a JSON object, got a string"),
            (json!(null), "expected a JSON object, got null"),
            (
                with(function.schedule(), "/detail-type", json!("Object Created")),
                "unknown event",
            ),
            (json!({"dryrun": true}), "unknown field `dryrun`"),
            (
                json!({"invokingEvent": "{}", "eventLeftScope": false}),
                "resultToken",
            ),
        ];
        if function != PasswordPolicy {
            cases.push((
                json!({"users": ["ghost", "alice"]}),
                "user ghost does not exist",
            ));
            cases.push((json!({"users": ["a b"]}), "not a valid IAM name"));
        }
        cases.extend(function.bad_inputs());
        for (event, expected) in cases {
            let err = function
                .invoke(&moto, &[], event.clone())
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{function:?} {event}: {err}"
            );
            assert_eq!(
                snapshot(&moto.iam()).await,
                before,
                "{function:?}: {event} changed something"
            );
        }
        assert_eq!(
            moto.calls().get(function.change_call()),
            None,
            "{function:?}"
        );
    }
}

/// A custom Config rule invocation is reported back with PutEvaluations: compliant once fixed,
/// non-compliant while only planned (a dry run), not applicable when the resource left the scope.
#[tokio::test]
async fn config_rule_invocations_report_their_evaluations_back() {
    for function in ALL {
        let (moto, target) = function.offended("alice").await;
        let scheduled = function.event("config-rule-scheduled");

        let dry = function
            .invoke(&moto, &[("DRY_RUN", "true")], scheduled.clone())
            .await
            .unwrap();
        assert_eq!(dry.trigger, TriggerKind::ConfigRule);
        assert!(!function.fixed(&moto, "alice", &target).await);
        function
            .invoke(&moto, &[], scheduled.clone())
            .await
            .unwrap();
        assert!(
            function.fixed(&moto, "alice", &target).await,
            "{function:?}"
        );
        function
            .invoke(&moto, &[], scheduled.clone())
            .await
            .unwrap();
        function
            .invoke(&moto, &[], with(scheduled, "/eventLeftScope", json!(true)))
            .await
            .unwrap();

        let results = moto.evaluation_results();
        let account = |compliance: &str| {
            (
                "AWS::::Account".to_owned(),
                "123456789012".to_owned(),
                compliance.to_owned(),
            )
        };
        assert_eq!(
            results,
            [
                account("NON_COMPLIANT"),
                account("COMPLIANT"),
                account("COMPLIANT"),
                account("NOT_APPLICABLE")
            ],
            "{function:?}"
        );
        // A change notification names one principal, by name.
        if function != PasswordPolicy {
            let (moto, target) = function.offended("alice").await;
            let change = function.event("config-rule-change");
            let report = function.invoke(&moto, &[], change).await.unwrap();
            assert_eq!(
                function.action(&report, "alice", &target).status,
                Status::Applied
            );
            let evaluation = &moto.evaluations()[0]["Evaluations"][0];
            assert_eq!(
                evaluation["ComplianceResourceType"], "AWS::IAM::User",
                "{function:?}"
            );
            assert_eq!(evaluation["ComplianceType"], "COMPLIANT", "{function:?}");
        }
    }
}

/// The same event twice applies nothing the second time, and two invocations at once end in
/// the same state as one.
#[tokio::test]
async fn the_same_event_twice_or_two_at_once_end_as_one() {
    for function in ALL {
        let (moto, target) = function.offended("alice").await;
        let first = function.sweep(&moto).await;
        assert_eq!(
            function.action(&first, "alice", &target).status,
            Status::Applied
        );
        let second = function.sweep(&moto).await;
        assert!(second.actions.is_empty(), "{function:?}: {second:#?}");
        assert_eq!(moto.calls()[function.change_call()], 1, "{function:?}");

        let (moto, target) = function.offended("alice").await;
        let (a, b) = tokio::join!(
            function.invoke(&moto, &[], function.schedule()),
            function.invoke(&moto, &[], function.manual("alice")),
        );
        for result in [a, b] {
            let report = result.unwrap();
            assert_eq!(report.count(Status::Failed), 0, "{function:?}: {report:#?}");
        }
        assert!(
            function.fixed(&moto, "alice", &target).await,
            "{function:?}"
        );
    }
}

/// A Config compliance change names one principal by its unique ID: that principal is acted on,
/// not the others.
#[tokio::test]
async fn a_config_compliance_change_acts_on_the_principal_it_names_only() {
    for function in ON_PRINCIPALS {
        let (moto, target) = function.offended("alice").await;
        let bob = function.seed_offender(&moto, "bob").await;
        for (i, sample) in function.compliance_changes().iter().enumerate() {
            let event = function
                .compliance_change(&moto, sample, "alice", false)
                .await;
            let report = function.invoke(&moto, &[], event).await.unwrap();
            assert_eq!(report.trigger, TriggerKind::Config, "{function:?} {sample}");
            if i == 0 {
                // The first fixes alice, and only her.
                assert_eq!(report.actions.len(), 1, "{function:?}: {report:#?}");
                let action = function.action(&report, "alice", &target);
                assert_eq!(action.status, Status::Applied, "{function:?}");
            }
        }
        assert!(
            function.fixed(&moto, "alice", &target).await,
            "{function:?}"
        );
        assert!(!function.fixed(&moto, "bob", &bob).await, "{function:?}");
    }
}

/// Events that need nothing, a CloudTrail call that failed or a compliance change to
/// `COMPLIANT`, examine nothing, call IAM for nothing and change nothing, even with an offender
/// at hand.
#[tokio::test]
async fn events_that_need_nothing_examine_and_change_nothing() {
    for function in ALL {
        let (moto, target) = function.offended("alice").await;
        let before = snapshot(&moto.iam()).await;
        let sample = function.compliance_changes()[0];
        let compliant = function
            .compliance_change(&moto, sample, "alice", true)
            .await;
        for event in [function.failed_call(), compliant] {
            moto.reset_calls();
            let report = function.invoke(&moto, &[], event.clone()).await.unwrap();
            assert!(
                report.actions.is_empty() && report.examined == 0,
                "{function:?} {event}: {report:#?}"
            );
            let calls = moto.calls();
            assert_eq!(
                moto.service_calls("iam"),
                0,
                "{function:?} {event}: {calls:?}"
            );
            assert!(
                !function.fixed(&moto, "alice", &target).await,
                "{function:?} {event}"
            );
            assert_eq!(snapshot(&moto.iam()).await, before, "{function:?} {event}");
        }
    }
}
