//! Reliability of the four functions under faults, against the real test bed (moto behind
//! `tests/moto/server.py`), filling what the per-function test files do not already show:
//!
//! 1. throttling, 5xx answers, timeouts (an answer slower than the attempt timeout) and dropped
//!    connections are retried with backoff by the functions' own retry policy, and the run
//!    succeeds;
//! 2. a failure half-way through a change loses no permission, leaves nothing orphaned, and the
//!    next run finishes the work;
//! 3. a failure on one principal does not stop the others, and the run ends as a Lambda error
//!    listing every failure;
//! 4. the same event delivered twice, and invocations at once, end as one run;
//! 5. the lockout guards fail closed;
//! 6. a sweep too big for its Lambda deadline stops safely before it, and the next runs continue
//!    until everything is fixed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use access_keys::AccessKeys;
use access_keys::facts::record_tag_key;
use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, Sleep};
use aws_smithy_types::retry::RetryMode;
use aws_smithy_types::timeout::TimeoutConfig;
use chrono::Utc;
use console_passwords::ConsolePasswords;
use iam_remediation::{Principal, PrincipalKind, Remediation, Report, Status};
use inline_policies::InlinePolicies;
use integration_tests::{
    ACTIVE, ALL_KINDS, Deployed, INACTIVE, Moto, NetworkFault, ROTATE, account_password_policy,
    assert_failed, assert_keys, create_group, create_role, create_user, document, has_password,
    key_status, key_statuses, managed_arn, managed_document, put_policy, sample_event, schedule,
    secret_key_id, snapshot, user_tags, user_with_key, user_with_password, with, with_passwords,
};
use password_policy::PasswordPolicies;
use serde_json::{Value, json};

/// The four functions, each built anew for each invocation.
type Keys = Deployed<AccessKeys>;
type Passwords = Deployed<ConsolePasswords>;
type Policy = Deployed<PasswordPolicies>;
type Inlines = Deployed<InlinePolicies>;

const KEYS: &str = "access-keys";
const PASSWORDS: &str = "console-passwords";
const POLICY: &str = "password-policy";
const INLINE: &str = "inline-policies";

// -- the network the functions see ---------------------------------------------------------

/// The attempt timeout of the clients in the fault tests (production: 15 s).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The connect timeout of the clients in the fault tests.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A slow answer: longer than the attempt timeout.
const SLOW: Duration = Duration::from_millis(1600);

/// Every sleep the SDK asks for (backoffs before retries, the adaptive rate limiter's waits, and
/// its timers), recorded with whether it ran to its end, and slept for real.
#[derive(Debug, Clone, Default)]
struct Sleeps(Arc<Mutex<Vec<(Duration, bool)>>>);

impl AsyncSleep for Sleeps {
    fn sleep(&self, duration: Duration) -> Sleep {
        let log = Arc::clone(&self.0);
        let index = {
            let mut log = log.lock().expect("sleeps");
            log.push((duration, false));
            log.len() - 1
        };
        Sleep::new(async move {
            tokio::time::sleep(duration).await;
            log.lock().expect("sleeps")[index].1 = true;
        })
    }
}

impl Sleeps {
    /// The waits before requests: backoffs before retries and, once the client was throttled,
    /// the adaptive rate limiter's waits. A wait always runs to its end; the SDK's timers
    /// (timeouts, periodic checks) mostly do not, and those that do (an attempt timeout that
    /// fires, a throughput check) are whole milliseconds, at most the attempt timeout. A backoff
    /// is a random (jittered) fraction of the exponential backoff, a whole number of
    /// milliseconds once in a million; a rate limiter's wait may be whole seconds, but longer.
    fn waits(&self) -> Vec<Duration> {
        self.0
            .lock()
            .expect("sleeps")
            .iter()
            .filter(|(d, ended)| {
                *ended && (d.subsec_nanos() % 1_000_000 != 0 || *d > ATTEMPT_TIMEOUT)
            })
            .map(|(d, _)| *d)
            .collect()
    }
}

/// The functions' own retry policy (`iam_remediation::clients::retry_config`, as `main` uses it),
/// a short attempt timeout so that a slow answer is given up on and retried, and a sleep that
/// records the backoffs.
fn faulty_network(moto: &Moto, sleeps: &Sleeps) -> SdkConfig {
    moto.sdk_config_with_timeouts(
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build(),
    )
    .to_builder()
    .retry_config(iam_remediation::clients::retry_config())
    .sleep_impl(SharedAsyncSleep::new(sleeps.clone()))
    .build()
}

/// Asserts that the SDK waited before each of `retries` retries, as the functions' retry policy
/// says: adaptive mode, five attempts, each wait at most its longest backoff. (In adaptive mode,
/// once throttled, the client also waits before first attempts, and waits for the rate
/// limiter's tokens instead of the jittered exponential backoff: there may be more waits than
/// retries, and longer ones than the exponential backoff.)
fn assert_backed_off(sleeps: &Sleeps, retries: usize) {
    let policy = iam_remediation::clients::retry_config();
    assert_eq!(policy.mode(), RetryMode::Adaptive);
    assert_eq!(policy.max_attempts(), 5);
    let cap = policy.max_backoff();
    let waits = sleeps.waits();
    assert!(
        waits.len() >= retries,
        "at least one wait per retry ({retries}): {waits:?}"
    );
    assert!(
        waits.iter().all(|w| !w.is_zero() && *w <= cap),
        "{waits:?} (cap {cap:?})"
    );
}

/// A sweep of `F` with these variables through the faults the test bed was given, on the
/// functions' own retry policy over a faulty network (see [`faulty_network`]): it must succeed,
/// every fault retried. The report, and the SDK's sleeps.
async fn sweep_through_faults<F: Remediation>(
    moto: &Moto,
    pairs: &[(&str, &str)],
) -> (Report, Sleeps) {
    let sleeps = Sleeps::default();
    let function = Deployed::<F>::new(&faulty_network(moto, &sleeps), pairs);
    let report = function.invoke(schedule(F::NAME), None).await;
    (report.expect("every fault is retried"), sleeps)
}

/// The call that reads every principal (and its tags) at once.
const DETAILS: &str = "iam:GetAccountAuthorizationDetails";

/// The principals of the actions with this status, sorted.
fn principals(report: &Report, status: Status) -> Vec<String> {
    let mut names: Vec<String> = report
        .with_status(status)
        .map(|a| a.principal.clone())
        .collect();
    names.sort();
    names
}

const STOPPED: &str = "stopped before the Lambda timeout";

/// alice, bob and the functions' own identity, by name (moto's GetCallerIdentity answers
/// arn:aws:sts::123456789012:user/moto: `moto` is "self").
fn alice_bob_and_self() -> Value {
    json!({"users": ["alice", "bob", "moto"]})
}

/// Asserts that `function` refuses `event` with an error saying `says`, and that the account is
/// still as it was `before`.
async fn assert_refused<F: Remediation>(
    function: &Deployed<F>,
    event: Value,
    says: &str,
    before: &Value,
) {
    let result = function.invoke(event.clone(), None).await;
    let err = result.expect_err("a refusal");
    assert!(err.to_string().contains(says), "{event}: {err}");
    let iam = Client::new(function.sdk());
    assert_eq!(&snapshot(&iam).await, before, "{event} changed something");
}

/// Runs `function` on `event`, which must be no error: it applies to `applied` (by principal)
/// and skips the functions' own identity, saying so. The report.
async fn assert_spares_itself<F: Remediation>(
    function: &Deployed<F>,
    event: Value,
    applied: &[&str],
) -> Report {
    let report = function
        .invoke(event, None)
        .await
        .expect("skips are not errors");
    assert_eq!(principals(&report, Status::Applied), applied, "{report:#?}");
    let own = report
        .with_status(Status::Skipped)
        .find(|a| a.principal == "moto");
    let own = own.unwrap_or_else(|| panic!("self is reported: {report:#?}"));
    assert!(
        own.reason.contains("runs as this identity"),
        "{}",
        own.reason
    );
    report
}

/// Reads and changes one principal at a time (`MAX_CONCURRENCY` is 8 by default), for the tests
/// whose fault "on the n-th call" must land on one given principal, or whose reads must follow
/// one another.
const ONE_AT_A_TIME: (&str, &str) = ("MAX_CONCURRENCY", "1");

/// The principals the deadline tests read and change at once (`MAX_CONCURRENCY`; 8 by
/// default): few enough that their 60 changes, each held up a tenth of the budget (less than
/// the fifth of a short budget the functions keep in hand), take 60 / 2 / 10 = 3 budgets,
/// whatever the machine's speed.
const DEADLINE_CONCURRENCY: (&str, &str) = ("MAX_CONCURRENCY", "2");

/// The prefix of the note counting the candidates a sweep left unread for the next run.
const UNREAD: &str = "stopped reading before the Lambda timeout: ";

/// Shows a big sweep of `F` stopping before its deadline and the next runs finishing it; returns
/// the function as it ran.
///
/// A dry run of the whole account first measures how long the facts take (T), and must plan a
/// change for each of the `offenders`. Then each call of `slow_change` (the change) is held up
/// by the test bed for a tenth of the budget (see [`DEADLINE_CONCURRENCY`]), so that applying
/// every change takes several budgets. Then the scheduled sweep runs with a deadline 2T + 0.3 s away,
/// again and again, until everything is fixed: each run must return before its deadline, with
/// no error, having fixed something and reported everything else as stopped before the Lambda
/// timeout; the first run must not have finished the job.
async fn sweep_until_done<F: Remediation>(
    moto: &Moto,
    slow_change: &str,
    offenders: usize,
) -> Deployed<F> {
    let function = Deployed::<F>::new(
        &moto.sdk_config(),
        &[("MAX_ACTIONS", "100"), DEADLINE_CONCURRENCY],
    );
    let schedule = schedule(F::NAME);
    let invoke = |event, deadline| function.invoke(event, deadline);
    let started = Instant::now();
    let dry = invoke(json!({"dry_run": true}), None)
        .await
        .expect("dry run");
    let budget = started.elapsed() * 2 + Duration::from_millis(300);
    assert_eq!(dry.count(Status::Planned), offenders, "{dry:#?}");
    let count = u32::try_from(offenders).expect("a few offenders");
    let held_up = budget / 10;
    moto.inject_network_fault(slow_change, NetworkFault::Delay(held_up), 2 * count, 0);

    let mut left = offenders;
    let mut runs = 0;
    let mut progress = Vec::new();
    while left > 0 {
        runs += 1;
        assert!(runs <= 25, "{left} offenders left after {runs} runs");
        let deadline = SystemTime::now() + budget;
        let report = invoke(schedule.clone(), Some(deadline))
            .await
            .unwrap_or_else(|e| panic!("run {runs}: {e}"));
        let overran = SystemTime::now().duration_since(deadline);
        assert!(
            overran.is_err(),
            "run {runs} ended {overran:?} after its deadline ({budget:?} away)"
        );
        let applied = report.count(Status::Applied);
        let stopped = report
            .with_status(Status::Skipped)
            .filter(|a| a.reason.starts_with(STOPPED))
            .count();
        assert!(
            applied > 0,
            "run {runs} made no progress in {budget:?}: {report:#?}"
        );
        // Every offender left is fixed, reported as stopped, or (when reading itself ran out of
        // time under load) counted in a note as left unread for the next run.
        let unread: usize = report
            .notes
            .iter()
            .filter(|note| note.starts_with(UNREAD))
            .filter_map(|note| {
                note.split(": ")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        assert_eq!(
            applied + stopped + unread,
            left,
            "run {runs}: every offender left is fixed, stopped or unread: {report:#?}"
        );
        if runs == 1 {
            assert!(
                stopped + unread > 0,
                "the first run was not stopped by its deadline: {report:#?}"
            );
        }
        left -= applied;
        progress.push(applied);
    }
    eprintln!(
        "{offenders} offenders fixed by runs of {budget:?} (each change held up {held_up:?}), \
         each fixing {progress:?}"
    );
    function
}

// -- access-keys -----------------------------------------------------------------------------

/// alice, whose key (returned) is 200 days old and unused for 100, and `access-keys` with its
/// defaults.
async fn alice_unused(moto: &Moto) -> (String, Keys) {
    let key = user_with_key(moto, "alice", 200, Some(100)).await;
    (key, Keys::new(&moto.sdk_config(), &[]))
}

#[tokio::test]
async fn access_keys_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let (moto, iam) = Moto::with_iam();
    let a = user_with_key(&moto, "a", 200, Some(1)).await;
    let b = user_with_key(&moto, "b", 200, Some(1)).await;
    let generate = "iam:GenerateCredentialReport";
    moto.inject_fault(generate, "ServiceUnavailable", 503, 1, 0);
    moto.inject_network_fault("iam:GetCredentialReport", NetworkFault::Delay(SLOW), 1, 0);
    // A sweep reads every user's tags at once (GetAccountAuthorizationDetails), not one by one.
    moto.inject_fault(DETAILS, "Throttling", 400, 2, 0);
    moto.inject_network_fault("iam:ListAccessKeys", NetworkFault::Drop, 1, 0);
    moto.inject_fault("sts:GetCallerIdentity", "Throttling", 400, 1, 0);
    moto.inject_fault("iam:UpdateAccessKey", "ServiceFailure", 500, 1, 0);
    // Done, but the answer is lost: the retry finds the key already inactive.
    moto.inject_network_fault("iam:UpdateAccessKey", NetworkFault::DropAfter, 1, 1);
    // Done, but the answer comes after the attempt timeout.
    moto.inject_network_fault("iam:TagUser", NetworkFault::DelayAnswer(SLOW), 1, 0);

    let started = Instant::now();
    let (report, sleeps) = sweep_through_faults::<AccessKeys>(&moto, &[]).await;

    // Each faulty call made once more per fault.
    moto.assert_calls(&[
        (DETAILS, 1 + 2),
        ("iam:ListAccessKeys", 2 + 1),
        ("iam:UpdateAccessKey", 2 + 2),
        ("iam:TagUser", 2 + 1),
        ("sts:GetCallerIdentity", 1 + 1),
    ]);
    assert_eq!(principals(&report, Status::Applied), ["a", "b"]);
    assert!(report.errors.is_empty(), "{report:#?}");
    for (user, key) in [("a", &a), ("b", &b)] {
        assert_keys(&iam, &[(user, key, INACTIVE)], "inactive").await;
        assert!(
            user_tags(&iam, user)
                .await
                .contains_key(&record_tag_key(key)),
            "{user} has its deactivation record"
        );
    }
    assert!(
        started.elapsed() >= ATTEMPT_TIMEOUT * 2,
        "two attempts timed out"
    );
    assert_backed_off(&sleeps, 9);
}

/// Rotation's new key is created, but IAM's answer is late: the SDK gives up on the attempt. The
/// key that appeared cannot be proved the function's (an administrator's key made at the same
/// moment looks the same, see `key_safety.rs`), so it is kept and named for an operator, never
/// retried into a third key; the old key is untouched.
#[tokio::test]
async fn access_keys_a_lost_create_access_key_answer_keeps_the_key_and_names_it() {
    let (moto, iam) = Moto::with_iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_network_fault("iam:CreateAccessKey", NetworkFault::DelayAnswer(SLOW), 1, 0);
    let function = Keys::new(&faulty_network(&moto, &Sleeps::default()), &[ROTATE]);

    let first = function.invoke_at(schedule(KEYS), Utc::now(), None).await;
    let second = function.invoke_at(schedule(KEYS), Utc::now(), None).await;

    let keys = key_statuses(&iam, "alice").await;
    let appeared: Vec<&String> = keys.keys().filter(|k| **k != old).collect();
    assert_eq!(appeared.len(), 1, "{keys:?}; first run: {first:#?}");
    let summary = assert_failed(first, 1, &["kept", appeared[0]]);
    assert_eq!(keys[&old], "Active", "{summary}");
    assert_eq!(secret_key_id(&moto, "alice", None).await, None);
    let second = second.expect("no room is a skip");
    assert_eq!(second.actions[0].status, Status::Skipped, "{second:#?}");
}

/// A key this system deactivated is deleted after the quiet period; IAM does it but the answer
/// is lost, so the retry finds no key. The key's deactivation record (a user tag; a user has at
/// most 50) must not outlive it.
#[tokio::test]
async fn access_keys_a_lost_delete_access_key_answer_leaves_no_stale_record() {
    let (moto, iam) = Moto::with_iam();
    let (key, function) = alice_unused(&moto).await;
    // Deactivated (and recorded) 40 days ago.
    let then = Utc::now() - chrono::Duration::days(40);
    function
        .invoke_at(schedule(KEYS), then, None)
        .await
        .expect("deactivation");
    assert!(
        user_tags(&iam, "alice")
            .await
            .contains_key(&record_tag_key(&key))
    );

    moto.inject_network_fault("iam:DeleteAccessKey", NetworkFault::DropAfter, 1, 0);
    let report = function
        .invoke_at(schedule(KEYS), Utc::now(), None)
        .await
        .expect("a lost answer is retried");
    assert_eq!(key_status(&iam, "alice", &key).await, None, "{report:#?}");

    // By the next run at the latest, the record is gone with its key.
    function
        .invoke_at(schedule(KEYS), Utc::now(), None)
        .await
        .expect("the next run");
    assert_eq!(
        user_tags(&iam, "alice").await,
        BTreeMap::new(),
        "the record of a deleted key is removed: {report:#?}"
    );
}

/// Deactivating a key and recording it is one change in two calls; the record cannot be written
/// (IAM keeps failing). A record is bookkeeping, never a precondition: the key is deactivated
/// with a note, and without a record it is never deleted by this system.
#[tokio::test]
async fn access_keys_a_deactivation_whose_record_failed_still_happens() {
    let (moto, iam) = Moto::with_iam();
    let (key, function) = alice_unused(&moto).await;
    let first = Utc::now() - chrono::Duration::days(40);
    moto.inject_fault("iam:TagUser", "ServiceFailure", 500, 5, 0);
    let report = function
        .invoke_at(schedule(KEYS), first, None)
        .await
        .expect("a record that cannot be written is a note, not a failure");
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "deactivated").await;
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("TagUser failed: ServiceFailure")),
        "{report:#?}"
    );

    // 40 days later (DELETE_INACTIVE_AFTER_DAYS is 30): without a record, still there.
    moto.clear_faults();
    function
        .invoke_at(schedule(KEYS), Utc::now(), None)
        .await
        .expect("a later run");
    assert_keys(
        &iam,
        &[("alice", &key, INACTIVE)],
        "never deleted without a record",
    )
    .await;
}

#[tokio::test]
async fn access_keys_a_user_failing_for_good_does_not_stop_the_others() {
    let (moto, iam) = Moto::with_iam();
    let mut keys = BTreeMap::new();
    for user in ["a", "b", "c", "d"] {
        keys.insert(user, user_with_key(&moto, user, 200, Some(1)).await);
    }
    // One principal at a time, so that each fault lands on one user: the second user's keys
    // cannot be listed; the first deactivation fails after all retries.
    let function = Keys::new(&moto.sdk_config(), &[ONE_AT_A_TIME]);
    moto.inject_fault("iam:ListAccessKeys", "AccessDenied", 403, 1, 1);
    moto.inject_fault("iam:UpdateAccessKey", "ServiceUnavailable", 503, 5, 0);

    let result = function.invoke_at(schedule(KEYS), Utc::now(), None).await;

    let summary = assert_failed(result, 2, &[]);
    let unread: Vec<&str> = keys
        .keys()
        .copied()
        .filter(|u| summary.contains(&format!("user {u}: ListAccessKeys failed: AccessDenied")))
        .collect();
    let failed: Vec<&str> = keys
        .iter()
        .filter(|(u, k)| {
            summary.contains(&format!(
                "deactivate-access-key {k} of user {u}: UpdateAccessKey failed: ServiceUnavailable"
            ))
        })
        .map(|(u, _)| *u)
        .collect();
    assert_eq!((unread.len(), failed.len()), (1, 1), "{summary}");
    assert_ne!(unread, failed);
    for (user, key) in &keys {
        let expected = if unread.contains(user) || failed.contains(user) {
            "Active"
        } else {
            "Inactive"
        };
        assert_eq!(
            key_status(&iam, user, key).await.as_deref(),
            Some(expected),
            "{user}"
        );
    }
    // A failed deactivation leaves no record behind.
    assert!(user_tags(&iam, failed[0]).await.is_empty());
    assert_eq!(moto.calls()["iam:UpdateAccessKey"], 5 + 2);

    // The next run completes the work.
    let report = function
        .invoke_at(schedule(KEYS), Utc::now(), None)
        .await
        .expect("the next run");
    let mut expected = [unread[0], failed[0]];
    expected.sort_unstable();
    assert_eq!(principals(&report, Status::Applied), expected);
    for (user, key) in &keys {
        assert_keys(&iam, &[(user, key, INACTIVE)], "inactive").await;
    }
}

#[tokio::test]
async fn access_keys_duplicate_and_concurrent_events_end_as_one_run() {
    let (moto, iam) = Moto::with_iam();
    let mut keys = BTreeMap::new();
    for user in ["a", "b", "c"] {
        keys.insert(user, user_with_key(&moto, user, 200, Some(1)).await);
    }
    // A fresh key reported as exposed.
    let exposed = user_with_key(&moto, "e", 5, Some(1)).await;
    let health = with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities/0/entityValue",
        json!(exposed),
    );
    let function = Keys::new(&moto.sdk_config(), &[]);
    let now = Utc::now();

    // Two schedules and the same Health event delivered twice, all at once.
    let runs = tokio::join!(
        function.invoke_at(schedule(KEYS), now, None),
        function.invoke_at(schedule(KEYS), now, None),
        function.invoke_at(health.clone(), now, None),
        function.invoke_at(health.clone(), now, None),
    );
    let reports = [runs.0, runs.1, runs.2, runs.3].map(|r| r.expect("no run fails"));
    keys.insert("e", exposed);
    for (user, key) in &keys {
        assert_eq!(
            key_statuses(&iam, user).await,
            BTreeMap::from([(key.clone(), "Inactive".to_owned())]),
            "{user}: one key, off, and no other key"
        );
        let records: Vec<String> = user_tags(&iam, user).await.into_keys().collect();
        assert_eq!(records, [record_tag_key(key)], "{user}: one record");
        let applied = reports
            .iter()
            .flat_map(|r| r.with_status(Status::Applied))
            .filter(|a| a.target == *key)
            .count();
        assert!(applied >= 1, "{user}");
    }
    let updates = moto.call_count("iam:UpdateAccessKey");
    assert!(
        updates <= 2 * 4,
        "at most one update per run and key: {updates}"
    );

    // Delivered once more, one after the other: nothing left to do, no change made.
    let state = snapshot(&iam).await;
    moto.reset_calls();
    for event in [schedule(KEYS), health] {
        let report = function
            .invoke_at(event, Utc::now(), None)
            .await
            .expect("re-delivery");
        assert!(report.actions.is_empty(), "{report:#?}");
    }
    assert_eq!(snapshot(&iam).await, state);
    let changes = [
        "iam:UpdateAccessKey",
        "iam:TagUser",
        "iam:DeleteAccessKey",
        "iam:CreateAccessKey",
    ];
    moto.assert_calls(&changes.map(|change| (change, 0)));
}

#[tokio::test]
async fn access_keys_lockout_guards_fail_closed() {
    let (moto, iam) = Moto::with_iam();
    // One principal at a time, in the order named, so that the tag fault lands on bob.
    let function = Keys::new(&moto.sdk_config(), &[ONE_AT_A_TIME]);
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto: `moto` is "self".
    let own = user_with_key(&moto, "moto", 200, Some(1)).await;
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    let bob = user_with_key(&moto, "bob", 200, Some(1)).await;
    // bob's tags (his exemption) cannot be read, even after every retry.
    moto.inject_fault("iam:ListUserTags", "Throttling", 400, 5, 1);

    let report = assert_spares_itself(&function, alice_bob_and_self(), &["alice"]).await;

    let bobs = report
        .with_status(Status::Skipped)
        .find(|a| a.principal == "bob");
    let bobs = bobs.unwrap_or_else(|| panic!("bob is skipped: {report:#?}"));
    assert!(bobs.reason.contains("failing closed"), "{}", bobs.reason);
    assert_keys(&iam, &[("alice", &alice, INACTIVE)], "inactive").await;
    assert_keys(&iam, &[("bob", &bob, ACTIVE)], "active").await;

    // Not even AWS Health's report of an exposed key makes it act on its own identity.
    let health = with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities/0/entityValue",
        json!(own),
    );
    let report = function
        .invoke_at(health, Utc::now(), None)
        .await
        .expect("report");
    let skipped: Vec<&str> = report
        .with_status(Status::Skipped)
        .map(|a| a.reason.as_str())
        .collect();
    assert!(
        skipped.len() == 1 && skipped[0].contains("runs as this identity"),
        "{report:#?}"
    );
    assert_keys(&iam, &[("moto", &own, ACTIVE)], "active").await;

    // Its own identity cannot be read: nothing is done at all.
    let before = snapshot(&iam).await;
    moto.inject_fault("sts:GetCallerIdentity", "AccessDenied", 403, 1, 0);
    let unread = "GetCallerIdentity failed: AccessDenied";
    assert_refused(&function, schedule(KEYS), unread, &before).await;
    assert_keys(&iam, &[("bob", &bob, ACTIVE)], "active").await;
}

#[tokio::test]
async fn access_keys_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
{
    let (moto, iam) = Moto::with_iam();
    let mut keys = Vec::new();
    for i in 0..60 {
        let user = format!("user-{i:02}");
        keys.push((
            user.clone(),
            user_with_key(&moto, &user, 200, Some(1)).await,
        ));
    }
    let function = sweep_until_done::<AccessKeys>(&moto, "iam:UpdateAccessKey", 60).await;

    for (user, key) in &keys {
        assert_keys(&iam, &[(user, key, INACTIVE)], "inactive").await;
    }
    let report = function
        .invoke_at(schedule(KEYS), Utc::now(), None)
        .await
        .expect("nothing left");
    assert!(report.actions.is_empty(), "{report:#?}");
}

// -- console-passwords ------------------------------------------------------------------------

#[tokio::test]
async fn console_passwords_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let (moto, iam) = Moto::with_iam();
    for user in ["a", "b"] {
        user_with_password(&moto, user, 200, None).await;
    }
    let generate = "iam:GenerateCredentialReport";
    moto.inject_network_fault(generate, NetworkFault::DelayAnswer(SLOW), 1, 0);
    moto.inject_fault("iam:GetCredentialReport", "ServiceUnavailable", 503, 1, 0);
    moto.inject_fault("iam:GetUser", "Throttling", 400, 2, 0);
    moto.inject_network_fault("iam:GetLoginProfile", NetworkFault::Drop, 1, 0);
    // A sweep reads every user's tags at once (GetAccountAuthorizationDetails), not one by one.
    moto.inject_network_fault(DETAILS, NetworkFault::Delay(SLOW), 1, 0);
    moto.inject_fault("sts:GetCallerIdentity", "ServiceUnavailable", 503, 1, 0);
    moto.inject_fault("iam:DeleteLoginProfile", "ServiceFailure", 500, 1, 0);

    let (report, sleeps) = sweep_through_faults::<ConsolePasswords>(&moto, &[]).await;

    assert_backed_off(&sleeps, 8);
    assert_eq!(principals(&report, Status::Applied), ["a", "b"]);
    assert!(with_passwords(&iam, &["a", "b"]).await.is_empty());
    moto.assert_calls(&[
        ("iam:GetCredentialReport", 1 + 1),
        (DETAILS, 1 + 1),
        ("iam:DeleteLoginProfile", 2 + 1),
    ]);
}

/// IAM deletes the password but the answer is lost: the retry finds nothing to delete. The run
/// succeeds and the password is gone.
#[tokio::test]
async fn console_passwords_a_lost_delete_answer_is_not_a_failure() {
    let (moto, iam) = Moto::with_iam();
    user_with_password(&moto, "alice", 200, None).await;
    moto.inject_network_fault("iam:DeleteLoginProfile", NetworkFault::DropAfter, 1, 0);
    let passwords = Passwords::new(&moto.sdk_config(), &[]);
    let report = passwords
        .invoke(json!({"users": ["alice"]}), None)
        .await
        .expect("a lost answer is not a failure");
    assert!(!has_password(&iam, "alice").await);
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_ne!(report.actions[0].status, Status::Failed, "{report:#?}");
    assert_eq!(moto.calls()["iam:DeleteLoginProfile"], 2);
}

#[tokio::test]
async fn console_passwords_users_failing_for_good_do_not_stop_the_others() {
    let (moto, iam) = Moto::with_iam();
    for user in ["a", "b", "c"] {
        user_with_password(&moto, user, 200, None).await;
    }
    // One principal at a time, so that each fault lands on one user: the first user cannot be
    // read; the first deletion fails; both after every retry.
    let passwords = Passwords::new(&moto.sdk_config(), &[ONE_AT_A_TIME]);
    moto.inject_fault("iam:GetUser", "ServiceUnavailable", 503, 5, 0);
    moto.inject_fault("iam:DeleteLoginProfile", "ServiceFailure", 500, 5, 0);

    let result = passwords.invoke(schedule(PASSWORDS), None).await;

    assert_failed(
        result,
        2,
        &[
            "GetUser failed: ServiceUnavailable",
            "DeleteLoginProfile failed: ServiceFailure",
        ],
    );
    let left = with_passwords(&iam, &["a", "b", "c"]).await;
    assert_eq!(left.len(), 2, "only one of three was done: {left:?}");

    let report = passwords
        .invoke(schedule(PASSWORDS), None)
        .await
        .expect("the next run");
    assert_eq!(principals(&report, Status::Applied), left);
    for user in ["a", "b", "c"] {
        assert!(!has_password(&iam, user).await, "{user}");
    }
}

#[tokio::test]
async fn console_passwords_lockout_guards_fail_closed() {
    let (moto, iam) = Moto::with_iam();
    let sdk = moto.sdk_config();
    let passwords = Passwords::new(&sdk, &[]);
    for user in ["alice", "bob", "moto"] {
        user_with_password(&moto, user, 200, None).await;
    }
    let before = snapshot(&iam).await;

    // Its own identity cannot be read: nothing is done at all.
    moto.inject_fault("sts:GetCallerIdentity", "AccessDenied", 403, 1, 0);
    let unread = "GetCallerIdentity failed: AccessDenied";
    assert_refused(&passwords, schedule(PASSWORDS), unread, &before).await;

    // bob cannot be read (GetUser, which also gives his tags), even after every retry, one
    // principal at a time so that the fault lands on him: the named read fails and nothing is
    // done at all.
    let one_at_a_time = Passwords::new(&sdk, &[ONE_AT_A_TIME]);
    moto.inject_fault("iam:GetUser", "ServiceUnavailable", 503, 5, 1);
    let unread = "GetUser failed: ServiceUnavailable";
    assert_refused(&one_at_a_time, alice_bob_and_self(), unread, &before).await;

    // Readable again: the others' passwords are deleted, never its own identity's.
    assert_spares_itself(&passwords, alice_bob_and_self(), &["alice", "bob"]).await;
    let users = ["alice", "bob", "moto"];
    assert_eq!(with_passwords(&iam, &users).await, ["moto"]);
}

#[tokio::test]
async fn console_passwords_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
 {
    let (moto, iam) = Moto::with_iam();
    let users: Vec<String> = (0..60).map(|i| format!("user-{i:02}")).collect();
    for user in &users {
        user_with_password(&moto, user, 200, None).await;
    }
    sweep_until_done::<ConsolePasswords>(&moto, "iam:DeleteLoginProfile", 60).await;

    for user in &users {
        assert!(!has_password(&iam, user).await, "{user}");
    }
}

/// Reading the account takes longer than the invocation has (here: a slow IAM). The run must still
/// end before its deadline, having changed nothing, rather than be killed by Lambda; otherwise
/// every later run is killed the same way and a big account is never fixed.
#[tokio::test]
async fn console_passwords_a_sweep_whose_reads_outlast_the_deadline_still_stops_before_it() {
    let (moto, iam) = Moto::with_iam();
    let users: Vec<String> = (0..5).map(|i| format!("user-{i:02}")).collect();
    for user in &users {
        user_with_password(&moto, user, 200, None).await;
    }
    let sdk = moto.sdk_config();
    let passwords = Passwords::new(&sdk, &[]);
    moto.inject_network_fault(
        "iam:GetUser",
        NetworkFault::Delay(Duration::from_millis(300)),
        100,
        0,
    );
    let before = snapshot(&iam).await;

    // One user at a time: 8 at once (the default) would read all 5 in 0.3 s.
    let one_at_a_time = Passwords::new(&sdk, &[ONE_AT_A_TIME]);
    let deadline = SystemTime::now() + Duration::from_millis(800);
    let result = one_at_a_time
        .invoke(schedule(PASSWORDS), Some(deadline))
        .await;
    let overran = SystemTime::now().duration_since(deadline);
    moto.clear_faults();
    assert!(
        overran.is_err(),
        "the run ended {overran:?} after its deadline (reading 5 users at 0.3 s a call takes \
         1.5 s): {result:#?}"
    );
    assert_eq!(snapshot(&iam).await, before);
    let report = passwords
        .invoke(schedule(PASSWORDS), None)
        .await
        .expect("the next run");
    assert_eq!(report.count(Status::Applied), 5);
}

// -- password-policy --------------------------------------------------------------------------

const UPDATE_POLICY: &str = "iam:UpdateAccountPasswordPolicy";
const READ_POLICY: &str = "iam:GetAccountPasswordPolicy";

/// The live policy's minimum length, symbol requirement and reuse prevention (`None`: no
/// policy).
async fn policy_summary(iam: &Client) -> Option<(i32, bool, Option<i32>)> {
    let policy = account_password_policy(iam).await?;
    Some((
        policy.minimum_password_length?,
        policy.require_symbols,
        policy.password_reuse_prevention,
    ))
}

/// The default floor, as `policy_summary` shows it.
const FLOOR: Option<(i32, bool, Option<i32>)> = Some((14, true, Some(24)));

#[tokio::test]
async fn password_policy_retries_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let (moto, iam) = Moto::with_iam();
    // The first read throttled, the re-read before the change slow.
    moto.inject_fault(READ_POLICY, "Throttling", 400, 1, 0);
    moto.inject_network_fault(READ_POLICY, NetworkFault::Delay(SLOW), 1, 1);
    moto.inject_fault(UPDATE_POLICY, "ServiceUnavailable", 503, 1, 0);
    moto.inject_network_fault(UPDATE_POLICY, NetworkFault::Drop, 1, 0);
    moto.inject_network_fault(UPDATE_POLICY, NetworkFault::DropAfter, 1, 0);

    let (report, sleeps) = sweep_through_faults::<PasswordPolicies>(&moto, &[]).await;

    moto.assert_calls(&[(READ_POLICY, 2 + 2), (UPDATE_POLICY, 1 + 3)]);
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert_eq!(policy_summary(&iam).await, FLOOR);
    assert_backed_off(&sleeps, 5);
}

#[tokio::test]
async fn password_policy_a_deadline_too_close_changes_nothing_and_the_next_run_does() {
    let (moto, iam) = Moto::with_iam();
    let policy = Policy::new(&moto.sdk_config(), &[]);
    // Reading the policy takes most of a 2 s budget: less than its fifth (the margin) is left.
    let budget = Duration::from_secs(2);
    moto.inject_network_fault(
        "iam:GetAccountPasswordPolicy",
        NetworkFault::Delay(Duration::from_millis(1650)),
        1,
        0,
    );
    let deadline = SystemTime::now() + budget;
    let report = policy
        .invoke(schedule(POLICY), Some(deadline))
        .await
        .expect("a run stopped by its deadline is not an error");
    assert!(SystemTime::now() < deadline, "ended before the deadline");
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_eq!(report.actions[0].status, Status::Skipped);
    assert!(report.actions[0].reason.starts_with(STOPPED), "{report:#?}");
    moto.assert_calls(&[(UPDATE_POLICY, 0)]);
    assert_eq!(policy_summary(&iam).await, None);

    // The next run, with time enough, does it.
    let deadline = SystemTime::now() + budget;
    let report = policy
        .invoke(schedule(POLICY), Some(deadline))
        .await
        .expect("report");
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert_eq!(policy_summary(&iam).await, FLOOR);
}

#[tokio::test]
async fn password_policy_duplicate_events_at_once_end_as_one_run() {
    let (moto, iam) = Moto::with_iam();
    let policy = Policy::new(&moto.sdk_config(), &[]);
    let deleted = sample_event(
        "password-policy",
        "cloudtrail-delete-account-password-policy",
    );
    // The same CloudTrail event delivered twice at once, and the schedule meanwhile.
    let (a, b, c) = tokio::join!(
        policy.invoke(deleted.clone(), None),
        policy.invoke(deleted.clone(), None),
        policy.invoke(schedule(POLICY), None),
    );
    let applied: usize = [a, b, c]
        .into_iter()
        .map(|r| r.expect("no run fails").count(Status::Applied))
        .sum();
    assert!(applied >= 1);
    assert_eq!(policy_summary(&iam).await, FLOOR);
    let updates = moto.call_count(UPDATE_POLICY);
    assert!(
        (1..=3).contains(&updates),
        "at most one update per run: {updates}"
    );

    // Delivered once more: nothing to do, no update.
    let report = policy.invoke(deleted, None).await.expect("report");
    assert!(report.actions.is_empty(), "{report:#?}");
    moto.assert_calls(&[(UPDATE_POLICY, updates)]);
}

// -- inline-policies --------------------------------------------------------------------------

/// One inline policy on a user, group or role.
#[derive(Debug, Clone, Copy)]
struct Inline {
    kind: PrincipalKind,
    principal: &'static str,
    policy: &'static str,
    action: &'static str,
}

impl Inline {
    const fn new(
        kind: PrincipalKind,
        principal: &'static str,
        policy: &'static str,
        action: &'static str,
    ) -> Self {
        Self {
            kind,
            principal,
            policy,
            action,
        }
    }

    /// The managed policy a conversion makes of it.
    fn managed(&self) -> String {
        managed_arn(&format!("{}+{}+{}", self.kind, self.principal, self.policy))
    }

    fn principal(&self) -> Principal {
        Principal {
            kind: self.kind,
            name: self.principal.to_owned(),
        }
    }

    /// The principal's state in a `snapshot`.
    fn state<'a>(&self, snapshot: &'a Value) -> &'a Value {
        &snapshot[format!("{}s", self.kind)][self.principal]
    }

    fn is_inline(&self, snapshot: &Value) -> bool {
        self.state(snapshot)["inline"]
            .as_array()
            .is_some_and(|names| names.contains(&json!(self.policy)))
    }

    fn is_attached(&self, snapshot: &Value) -> bool {
        self.state(snapshot)["attached"]
            .as_array()
            .is_some_and(|arns| arns.contains(&json!(self.managed())))
    }
}

/// Creates the principals (the first time each is named) and their inline policies.
async fn seed(iam: &Client, policies: &[Inline]) {
    let mut made = std::collections::BTreeSet::new();
    for p in policies {
        if made.insert((p.kind, p.principal)) {
            match p.kind {
                PrincipalKind::User => create_user(iam, p.principal).await,
                PrincipalKind::Group => create_group(iam, p.principal).await,
                PrincipalKind::Role => create_role(iam, p.principal, "/").await,
            }
        }
        put_policy(iam, &p.principal(), p.policy, &document(p.action)).await;
    }
}

/// Every permission is still held: each inline policy is there, or its managed copy (the same
/// document) is attached.
async fn assert_nothing_lost(iam: &Client, policies: &[Inline]) {
    let state = snapshot(iam).await;
    for p in policies {
        if !p.is_inline(&state) {
            assert!(p.is_attached(&state), "{p:?} lost: {state:#}");
            assert_eq!(
                managed_document(iam, &p.managed()).await,
                document(p.action)
            );
        }
    }
}

/// Every inline policy is converted: gone, its managed copy attached, and no other managed
/// policy in the account (no orphan, no duplicate).
async fn assert_all_converted(iam: &Client, policies: &[Inline]) {
    assert_nothing_lost(iam, policies).await;
    let state = snapshot(iam).await;
    let mut expected: Vec<String> = policies.iter().map(Inline::managed).collect();
    expected.sort();
    let mut managed: Vec<String> = serde_json::from_value(state["policies"].clone()).expect("ARNs");
    managed.sort();
    assert_eq!(managed, expected, "{state:#}");
    for p in policies {
        assert!(
            !p.is_inline(&state) && p.is_attached(&state),
            "{p:?}: {state:#}"
        );
    }
}

const ALICE_S3: Inline = Inline::new(PrincipalKind::User, "alice", "s3-read", "s3:GetObject");
const ALICE_LOGS: Inline = Inline::new(PrincipalKind::User, "alice", "logs", "logs:PutLogEvents");
const DEVS_DEPLOY: Inline = Inline::new(
    PrincipalKind::Group,
    "devs",
    "deploy",
    "lambda:UpdateFunctionCode",
);
const CI_ECR: Inline = Inline::new(
    PrincipalKind::Role,
    "ci",
    "ecr",
    "ecr:GetAuthorizationToken",
);

#[tokio::test]
async fn inline_policies_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let (moto, iam) = Moto::with_iam();
    let policies = [ALICE_S3, DEVS_DEPLOY, CI_ECR];
    seed(&iam, &policies).await;
    moto.inject_fault(DETAILS, "ServiceUnavailable", 503, 1, 0);
    moto.inject_fault("iam:GetAccountSummary", "Throttling", 400, 1, 0);
    moto.inject_network_fault("sts:GetCallerIdentity", NetworkFault::Drop, 1, 0);
    moto.inject_network_fault("iam:GetUserPolicy", NetworkFault::Drop, 1, 0);
    // Created, but the answer is late: the retry finds it exists and reuses it.
    moto.inject_network_fault("iam:CreatePolicy", NetworkFault::DelayAnswer(SLOW), 1, 0);
    moto.inject_fault("iam:AttachGroupPolicy", "ServiceFailure", 500, 1, 0);
    moto.inject_network_fault("iam:AttachGroupPolicy", NetworkFault::DropAfter, 1, 0);
    moto.inject_network_fault("iam:DeleteRolePolicy", NetworkFault::Delay(SLOW), 1, 0);
    moto.inject_fault("iam:DeleteUserPolicy", "Throttling", 400, 2, 0);

    let (report, sleeps) = sweep_through_faults::<InlinePolicies>(&moto, &[ALL_KINDS]).await;

    assert_eq!(
        principals(&report, Status::Applied),
        ["alice", "ci", "devs"],
        "{report:#?}"
    );
    assert_all_converted(&iam, &policies).await;
    moto.assert_calls(&[
        ("iam:CreatePolicy", 3 + 1),
        ("iam:AttachGroupPolicy", 1 + 2),
        ("iam:DeleteRolePolicy", 1 + 1),
        ("iam:DeleteUserPolicy", 1 + 2),
    ]);
    assert_backed_off(&sleeps, 10);
}

/// A group's conversion fails between creating its managed policy and attaching it, and the
/// clean-up fails too (an unattached managed policy is left); a role's inline policy cannot be
/// deleted after its managed copy was attached. No permission is lost, the user's conversion is
/// done anyway, the run fails listing both, and the next run finishes with no orphan.
#[tokio::test]
async fn inline_policies_a_failure_half_way_loses_nothing_stops_no_one_and_the_next_run_finishes() {
    let (moto, iam) = Moto::with_iam();
    let policies = [ALICE_S3, DEVS_DEPLOY, CI_ECR];
    seed(&iam, &policies).await;
    let inline = Inlines::new(&moto.sdk_config(), &[ALL_KINDS]);
    moto.inject_fault("iam:AttachGroupPolicy", "ServiceUnavailable", 503, 5, 0);
    moto.inject_fault("iam:DeletePolicy", "AccessDenied", 403, 1, 0);
    moto.inject_fault("iam:DeleteRolePolicy", "AccessDenied", 403, 1, 0);

    let result = inline.invoke(schedule(INLINE), None).await;

    let says = [
        "AttachGroupPolicy failed: ServiceUnavailable",
        "the inline policy is kept",
        "could not be removed",
        "DeleteRolePolicy failed: AccessDenied",
        "is attached",
    ];
    assert_failed(result, 2, &says);
    assert_nothing_lost(&iam, &policies).await;
    let state = snapshot(&iam).await;
    assert!(!ALICE_S3.is_inline(&state) && ALICE_S3.is_attached(&state));
    assert!(DEVS_DEPLOY.is_inline(&state) && !DEVS_DEPLOY.is_attached(&state));
    assert!(CI_ECR.is_inline(&state) && CI_ECR.is_attached(&state));

    // The next run adopts the unattached managed policy and finishes both conversions.
    moto.reset_calls();
    let report = inline
        .invoke(schedule(INLINE), None)
        .await
        .expect("the next run");
    assert_eq!(principals(&report, Status::Applied), ["ci", "devs"]);
    assert_all_converted(&iam, &policies).await;
    // Refused as existing, then reused.
    moto.assert_calls(&[("iam:CreatePolicy", 2)]);
}

#[tokio::test]
async fn inline_policies_duplicate_and_concurrent_events_end_as_one_run() {
    let (moto, iam) = Moto::with_iam();
    let policies = [ALICE_S3, ALICE_LOGS, DEVS_DEPLOY];
    seed(&iam, &policies).await;
    let inline = Inlines::new(&moto.sdk_config(), &[]);
    // The CloudTrail event of alice's s3-read, delivered twice, with two schedules, all at once.
    let put = sample_event("inline-policies", "cloudtrail-put-user-policy");
    let runs = tokio::join!(
        inline.invoke(schedule(INLINE), None),
        inline.invoke(put.clone(), None),
        inline.invoke(schedule(INLINE), None),
        inline.invoke(put.clone(), None),
    );
    for report in [runs.0, runs.1, runs.2, runs.3] {
        let report = report.expect("no run fails");
        assert_eq!(report.count(Status::Failed), 0, "{report:#?}");
    }
    assert_all_converted(&iam, &policies).await;

    // Delivered once more: nothing left, no call that changes anything.
    moto.reset_calls();
    for event in [put, schedule(INLINE)] {
        let report = inline.invoke(event, None).await.expect("re-delivery");
        assert!(report.actions.is_empty(), "{report:#?}");
    }
    let calls = moto.calls();
    assert!(
        !calls.keys().any(|a| a.starts_with("iam:Create")
            || a.starts_with("iam:Attach")
            || a.starts_with("iam:Delete")),
        "{calls:?}"
    );
    assert_all_converted(&iam, &policies).await;
}

#[tokio::test]
async fn inline_policies_unreadable_principals_and_identity_fail_closed() {
    let (moto, iam) = Moto::with_iam();
    let own = Inline::new(PrincipalKind::User, "moto", "self", "iam:*");
    seed(&iam, &[ALICE_S3, CI_ECR, own]).await;
    let inline = Inlines::new(&moto.sdk_config(), &[ALL_KINDS]);
    let before = snapshot(&iam).await;

    let cases = [
        (
            "iam:GetUser",
            json!({"users": ["alice"]}),
            "GetUser failed: AccessDenied",
        ),
        (
            "iam:GetRole",
            sample_event("inline-policies", "cloudtrail-put-role-policy"),
            "GetRole failed: AccessDenied",
        ),
        (
            "sts:GetCallerIdentity",
            schedule(INLINE),
            "GetCallerIdentity failed: AccessDenied",
        ),
    ];
    for (action, event, expected) in cases {
        moto.inject_fault(action, "AccessDenied", 403, 1, 0);
        assert_refused(&inline, event, expected, &before).await;
    }

    // Readable again: the others are converted, never its own identity.
    assert_spares_itself(&inline, schedule(INLINE), &["alice", "ci"]).await;
    let state = snapshot(&iam).await;
    assert!(own.is_inline(&state) && !own.is_attached(&state));
}

#[tokio::test]
async fn inline_policies_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
 {
    let (moto, iam) = Moto::with_iam();
    let names: Vec<&'static str> = (0..60)
        .map(|i| &*Box::leak(format!("user-{i:02}").into_boxed_str()))
        .collect();
    let policies: Vec<Inline> = names
        .iter()
        .map(|name| Inline::new(PrincipalKind::User, name, "s3-read", "s3:GetObject"))
        .collect();
    seed(&iam, &policies).await;
    sweep_until_done::<InlinePolicies>(&moto, "iam:CreatePolicy", 60).await;

    assert_all_converted(&iam, &policies).await;
}
