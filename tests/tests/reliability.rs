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

use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, Sleep};
use aws_smithy_types::retry::RetryMode;
use aws_smithy_types::timeout::TimeoutConfig;
use chrono::{DateTime, Utc};
use iam_remediation::facts::access_keys::record_tag_key;
use iam_remediation::facts::inline_policies::decode_document;
use iam_remediation::{Clients, Env, Error, Report, Status};
use integration_tests::{
    Moto, NetworkFault, create_user, days_ago, key_status, key_statuses, sample_event, snapshot,
    user_with_key, with,
};
use serde_json::{Value, json};

// -- the network the functions see ---------------------------------------------------------

/// The attempt timeout of the clients in the fault tests (production: 15 s).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The connect timeout of the clients in the fault tests.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A slow answer: longer than the attempt timeout.
const SLOW: Duration = Duration::from_millis(1600);

/// Every sleep the SDK asks for (backoffs before retries, and its timeouts), recorded and then
/// slept for real.
#[derive(Debug, Clone, Default)]
struct Sleeps(Arc<Mutex<Vec<Duration>>>);

impl AsyncSleep for Sleeps {
    fn sleep(&self, duration: Duration) -> Sleep {
        self.0.lock().expect("sleeps").push(duration);
        Sleep::new(tokio::time::sleep(duration))
    }
}

impl Sleeps {
    /// The backoffs before retries. The SDK's other timers (timeouts, periodic checks) are whole
    /// milliseconds; a backoff is a random (jittered) fraction of the exponential backoff, a
    /// whole number of milliseconds once in a million.
    fn backoffs(&self) -> Vec<Duration> {
        self.0
            .lock()
            .expect("sleeps")
            .iter()
            .copied()
            .filter(|d| d.subsec_nanos() % 1_000_000 != 0)
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

/// Asserts that the SDK slept before each of `retries` retries, each sleep a jittered share of
/// the exponential backoff of the functions' retry policy.
fn assert_backed_off(sleeps: &Sleeps, retries: usize) {
    let policy = iam_remediation::clients::retry_config();
    assert_eq!(policy.mode(), RetryMode::Standard);
    assert_eq!(policy.max_attempts(), 5);
    // The fourth retry waits at most initial × 2³.
    let cap = policy.initial_backoff() * 8;
    let backoffs = sleeps.backoffs();
    assert_eq!(
        backoffs.len(),
        retries,
        "one backoff per retry: {backoffs:?}"
    );
    assert!(
        backoffs.iter().all(|b| !b.is_zero() && *b <= cap),
        "{backoffs:?} (cap {cap:?})"
    );
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

/// Counts of the given actions so far (0 when never called).
fn counts(moto: &Moto, actions: &[&str]) -> Vec<u64> {
    let calls = moto.calls();
    actions
        .iter()
        .map(|a| calls.get(*a).copied().unwrap_or(0))
        .collect()
}

/// The summary of an `ActionsFailed` error, with its count.
fn failures(result: Result<Report, Error>) -> (usize, String) {
    match result {
        Err(Error::ActionsFailed { count, summary }) => (count, summary),
        other => panic!("expected ActionsFailed, got {other:#?}"),
    }
}

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

/// How long each change is held up by the test bed in the deadline tests, so that applying
/// every change takes several budgets whatever the machine's speed.
const SLOW_CHANGE: Duration = Duration::from_millis(20);

/// Shows a big sweep stopping before its deadline and the next runs finishing it.
///
/// A dry run of the whole account first measures how long the facts take (T), and must plan a
/// change for each of the `offenders`. Then `schedule` runs with a deadline 2T + 0.3 s away,
/// again and again, until everything is fixed: each run must return before its deadline, with
/// no error, having fixed something and reported everything else as stopped before the Lambda
/// timeout; the first run must not have finished the job.
async fn sweep_until_done<F, Fut>(offenders: usize, schedule: &Value, mut invoke: F)
where
    F: FnMut(Value, Option<SystemTime>) -> Fut,
    Fut: Future<Output = Result<Report, Error>>,
{
    let started = Instant::now();
    let dry = invoke(json!({"dry_run": true}), None)
        .await
        .expect("dry run");
    let budget = started.elapsed() * 2 + Duration::from_millis(300);
    assert_eq!(dry.count(Status::Planned), offenders, "{dry:#?}");

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
                "the first run was not stopped by its deadline"
            );
        }
        left -= applied;
        progress.push(applied);
    }
    eprintln!("{offenders} offenders fixed by runs of {budget:?}, each fixing {progress:?}");
}

// -- access-keys -----------------------------------------------------------------------------

fn keys_settings(pairs: &[(&str, &str)]) -> access_keys::Settings {
    access_keys::Settings::from_env(&env(pairs)).expect("valid settings")
}

async fn access_keys(
    sdk: &SdkConfig,
    settings: &access_keys::Settings,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report, Error> {
    access_keys::handle(&access_keys::Deps::new(sdk), settings, event, now, deadline).await
}

fn keys_schedule() -> Value {
    sample_event("access-keys", "scheduled")
}

/// A user's tags.
async fn user_tags(iam: &Client, user: &str) -> BTreeMap<String, String> {
    iam.list_user_tags()
        .user_name(user)
        .send()
        .await
        .expect("ListUserTags")
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

#[tokio::test]
async fn access_keys_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let moto = Moto::start();
    let iam = moto.iam();
    let a = user_with_key(&moto, "a", 200, Some(1)).await;
    let b = user_with_key(&moto, "b", 200, Some(1)).await;
    moto.inject_fault(
        "iam:GenerateCredentialReport",
        "ServiceUnavailable",
        503,
        1,
        0,
    );
    moto.inject_network_fault("iam:GetCredentialReport", NetworkFault::Delay(SLOW), 1, 0);
    moto.inject_fault("iam:ListUserTags", "Throttling", 400, 2, 0);
    moto.inject_network_fault("iam:ListAccessKeys", NetworkFault::Drop, 1, 0);
    moto.inject_fault("sts:GetCallerIdentity", "Throttling", 400, 1, 0);
    moto.inject_fault("iam:UpdateAccessKey", "ServiceFailure", 500, 1, 0);
    // Done, but the answer is lost: the retry finds the key already inactive.
    moto.inject_network_fault("iam:UpdateAccessKey", NetworkFault::DropAfter, 1, 1);
    // Done, but the answer comes after the attempt timeout.
    moto.inject_network_fault("iam:TagUser", NetworkFault::DelayAnswer(SLOW), 1, 0);
    let sleeps = Sleeps::default();

    let started = Instant::now();
    let report = access_keys(
        &faulty_network(&moto, &sleeps),
        &keys_settings(&[]),
        keys_schedule(),
        Utc::now(),
        None,
    )
    .await
    .expect("every fault is retried");

    assert_eq!(
        counts(
            &moto,
            &[
                "iam:ListUserTags",
                "iam:ListAccessKeys",
                "iam:UpdateAccessKey",
                "iam:TagUser",
                "sts:GetCallerIdentity",
            ]
        ),
        [2 + 2, 2 + 1, 2 + 2, 2 + 1, 1 + 1],
        "each faulty call made once more per fault: {:?}",
        moto.calls()
    );
    assert_eq!(principals(&report, Status::Applied), ["a", "b"]);
    assert!(report.errors.is_empty(), "{report:#?}");
    for (user, key) in [("a", &a), ("b", &b)] {
        assert_eq!(
            key_status(&iam, user, key).await.as_deref(),
            Some("Inactive")
        );
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

/// Rotation's new key is created, but IAM's answer is late: the SDK gives up on the attempt and
/// retries. No key may be left that nobody holds, and the rotation must still happen.
#[tokio::test]
async fn access_keys_a_lost_create_access_key_answer_leaves_no_orphan_key() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_network_fault("iam:CreateAccessKey", NetworkFault::DelayAnswer(SLOW), 1, 0);
    let settings = keys_settings(&[("KEY_ACTION", "rotate")]);
    let sdk = faulty_network(&moto, &Sleeps::default());

    let first = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None).await;
    // Whatever the first run made of it, the next one finishes the rotation.
    let second = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None).await;

    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let stored = secrets
        .get_secret_value()
        .secret_id("iam-remediation/access-keys/alice")
        .send()
        .await
        .ok()
        .and_then(|s| s.secret_string)
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|s| s["AccessKeyId"].as_str().map(str::to_owned));
    let keys = key_statuses(&iam, "alice").await;
    let orphans: Vec<&String> = keys
        .keys()
        .filter(|k| **k != old && Some(*k) != stored.as_ref())
        .collect();
    assert!(
        orphans.is_empty(),
        "keys nobody holds: {orphans:?} (stored: {stored:?}, keys: {keys:?}); \
         first run: {first:#?}; second run: {second:#?}"
    );
    assert!(
        stored.is_some(),
        "the rotation happened: {first:#?} {second:#?}"
    );
}

/// A key this system deactivated is deleted after the quiet period; IAM does it but the answer
/// is lost, so the retry finds no key. The key's deactivation record (a user tag; a user has at
/// most 50) must not outlive it.
#[tokio::test]
async fn access_keys_a_lost_delete_access_key_answer_leaves_no_stale_record() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(100)).await;
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[]);
    // Deactivated (and recorded) 40 days ago.
    let then = Utc::now() - chrono::Duration::days(40);
    access_keys(&sdk, &settings, keys_schedule(), then, None)
        .await
        .expect("deactivation");
    assert!(
        user_tags(&iam, "alice")
            .await
            .contains_key(&record_tag_key(&key))
    );

    moto.inject_network_fault("iam:DeleteAccessKey", NetworkFault::DropAfter, 1, 0);
    let report = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .expect("a lost answer is retried");
    assert_eq!(key_status(&iam, "alice", &key).await, None, "{report:#?}");

    // By the next run at the latest, the record is gone with its key.
    access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .expect("the next run");
    assert_eq!(
        user_tags(&iam, "alice").await,
        BTreeMap::new(),
        "the record of a deleted key is removed: {report:#?}"
    );
}

/// Deactivating a key and recording it is one change in two calls; the record cannot be written
/// (IAM keeps failing). The run fails naming it; the next day's run leaves no credential on, and
/// the key is still deleted once it has stayed inactive for the quiet period.
#[tokio::test]
async fn access_keys_a_deactivation_whose_record_failed_is_finished_by_a_later_run() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(100)).await;
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[]);
    let day = chrono::Duration::days(1);
    let first = Utc::now() - day * 40;
    moto.inject_fault("iam:TagUser", "ServiceFailure", 500, 5, 0);
    let (count, summary) =
        failures(access_keys(&sdk, &settings, keys_schedule(), first, None).await);
    assert_eq!(count, 1, "{summary}");
    assert!(
        summary.contains("TagUser failed: ServiceFailure"),
        "{summary}"
    );

    // The next day's run: the key is off.
    access_keys(&sdk, &settings, keys_schedule(), first + day, None)
        .await
        .expect("the next run");
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive")
    );
    // 39 days later (DELETE_INACTIVE_AFTER_DAYS is 30): deleted.
    access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .expect("a later run");
    assert_eq!(
        key_status(&iam, "alice", &key).await,
        None,
        "a key this system deactivated is deleted after DELETE_INACTIVE_AFTER_DAYS, even when \
         its record failed the first time (tags: {:?})",
        user_tags(&iam, "alice").await
    );
}

#[tokio::test]
async fn access_keys_a_user_failing_for_good_does_not_stop_the_others() {
    let moto = Moto::start();
    let iam = moto.iam();
    let mut keys = BTreeMap::new();
    for user in ["a", "b", "c", "d"] {
        keys.insert(user, user_with_key(&moto, user, 200, Some(1)).await);
    }
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[]);
    // The second user's keys cannot be listed; the first deactivation fails after all retries.
    moto.inject_fault("iam:ListAccessKeys", "AccessDenied", 403, 1, 1);
    moto.inject_fault("iam:UpdateAccessKey", "ServiceUnavailable", 503, 5, 0);

    let (count, summary) =
        failures(access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None).await);

    assert_eq!(count, 2, "{summary}");
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
    let report = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .expect("the next run");
    let mut expected = [unread[0], failed[0]];
    expected.sort_unstable();
    assert_eq!(principals(&report, Status::Applied), expected);
    for (user, key) in &keys {
        assert_eq!(
            key_status(&iam, user, key).await.as_deref(),
            Some("Inactive")
        );
    }
}

#[tokio::test]
async fn access_keys_duplicate_and_concurrent_events_end_as_one_run() {
    let moto = Moto::start();
    let iam = moto.iam();
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
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[]);
    let now = Utc::now();

    // Two schedules and the same Health event delivered twice, all at once.
    let runs = tokio::join!(
        access_keys(&sdk, &settings, keys_schedule(), now, None),
        access_keys(&sdk, &settings, keys_schedule(), now, None),
        access_keys(&sdk, &settings, health.clone(), now, None),
        access_keys(&sdk, &settings, health.clone(), now, None),
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
    let updates = counts(&moto, &["iam:UpdateAccessKey"])[0];
    assert!(
        updates <= 2 * 4,
        "at most one update per run and key: {updates}"
    );

    // Delivered once more, one after the other: nothing left to do, no change made.
    let state = snapshot(&iam).await;
    moto.reset_calls();
    for event in [keys_schedule(), health] {
        let report = access_keys(&sdk, &settings, event, Utc::now(), None)
            .await
            .expect("re-delivery");
        assert!(report.actions.is_empty(), "{report:#?}");
    }
    assert_eq!(snapshot(&iam).await, state);
    assert_eq!(
        counts(
            &moto,
            &[
                "iam:UpdateAccessKey",
                "iam:TagUser",
                "iam:DeleteAccessKey",
                "iam:CreateAccessKey"
            ]
        ),
        [0, 0, 0, 0]
    );
}

#[tokio::test]
async fn access_keys_lockout_guards_fail_closed() {
    let moto = Moto::start();
    let iam = moto.iam();
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[]);
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto: `moto` is "self".
    let own = user_with_key(&moto, "moto", 200, Some(1)).await;
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    let bob = user_with_key(&moto, "bob", 200, Some(1)).await;
    // bob's tags (his exemption) cannot be read, even after every retry.
    moto.inject_fault("iam:ListUserTags", "Throttling", 400, 5, 1);

    let report = access_keys(
        &sdk,
        &settings,
        json!({"users": ["alice", "bob", "moto"]}),
        Utc::now(),
        None,
    )
    .await
    .expect("skips are not errors");

    assert_eq!(principals(&report, Status::Applied), ["alice"]);
    let skipped: BTreeMap<&str, &str> = report
        .with_status(Status::Skipped)
        .map(|a| (a.principal.as_str(), a.reason.as_str()))
        .collect();
    assert!(skipped["bob"].contains("failing closed"), "{skipped:?}");
    assert!(
        skipped["moto"].contains("runs as this identity"),
        "{skipped:?}"
    );
    assert_eq!(
        key_status(&iam, "alice", &alice).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "bob", &bob).await.as_deref(),
        Some("Active")
    );

    // Not even AWS Health's report of an exposed key makes it act on its own identity.
    let health = with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities/0/entityValue",
        json!(own),
    );
    let report = access_keys(&sdk, &settings, health, Utc::now(), None)
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
    assert_eq!(
        key_status(&iam, "moto", &own).await.as_deref(),
        Some("Active")
    );

    // Its own identity cannot be read: nothing is done at all.
    let before = snapshot(&iam).await;
    moto.inject_fault("sts:GetCallerIdentity", "AccessDenied", 403, 1, 0);
    let err = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("GetCallerIdentity failed: AccessDenied"),
        "{err}"
    );
    assert_eq!(snapshot(&iam).await, before);
    assert_eq!(
        key_status(&iam, "bob", &bob).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn access_keys_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
{
    let moto = Moto::start();
    let iam = moto.iam();
    let mut keys = Vec::new();
    for i in 0..60 {
        let user = format!("user-{i:02}");
        keys.push((
            user.clone(),
            user_with_key(&moto, &user, 200, Some(1)).await,
        ));
    }
    let sdk = moto.sdk_config();
    let settings = keys_settings(&[("MAX_ACTIONS", "100")]);

    moto.inject_network_fault(
        "iam:UpdateAccessKey",
        NetworkFault::Delay(SLOW_CHANGE),
        100,
        0,
    );

    sweep_until_done(60, &keys_schedule(), |event, deadline| {
        access_keys(&sdk, &settings, event, Utc::now(), deadline)
    })
    .await;

    for (user, key) in &keys {
        assert_eq!(
            key_status(&iam, user, key).await.as_deref(),
            Some("Inactive")
        );
    }
    let report = access_keys(&sdk, &settings, keys_schedule(), Utc::now(), None)
        .await
        .expect("nothing left");
    assert!(report.actions.is_empty(), "{report:#?}");
}

// -- console-passwords ------------------------------------------------------------------------

fn passwords_settings(pairs: &[(&str, &str)]) -> console_passwords::Settings {
    console_passwords::Settings::from_env(&env(pairs)).expect("valid settings")
}

async fn console_passwords(
    sdk: &SdkConfig,
    settings: &console_passwords::Settings,
    event: Value,
    deadline: Option<SystemTime>,
) -> Result<Report, Error> {
    console_passwords::handle(&Clients::new(sdk), settings, event, Utc::now(), deadline).await
}

fn passwords_schedule() -> Value {
    sample_event("console-passwords", "scheduled")
}

/// A user with a console password created 200 days ago and never used.
async fn user_with_unused_password(moto: &Moto, user: &str) {
    let iam = moto.iam();
    create_user(&iam, user).await;
    iam.create_login_profile()
        .user_name(user)
        .password("Correct-Horse-Battery-9!")
        .send()
        .await
        .expect("CreateLoginProfile");
    moto.set_user(user, Some(days_ago(200)), Some(None));
}

async fn has_password(iam: &Client, user: &str) -> bool {
    match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(
            aws_sdk_iam::operation::get_login_profile::GetLoginProfileError::is_no_such_entity_exception,
        ) => false,
        Err(e) => panic!("GetLoginProfile {user}: {e:?}"),
    }
}

#[tokio::test]
async fn console_passwords_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["a", "b"] {
        user_with_unused_password(&moto, user).await;
    }
    moto.inject_network_fault(
        "iam:GenerateCredentialReport",
        NetworkFault::DelayAnswer(SLOW),
        1,
        0,
    );
    moto.inject_fault("iam:GetCredentialReport", "ServiceUnavailable", 503, 1, 0);
    moto.inject_fault("iam:GetUser", "Throttling", 400, 2, 0);
    moto.inject_network_fault("iam:GetLoginProfile", NetworkFault::Drop, 1, 0);
    moto.inject_network_fault("iam:ListUserTags", NetworkFault::Delay(SLOW), 1, 0);
    moto.inject_fault("sts:GetCallerIdentity", "ServiceUnavailable", 503, 1, 0);
    moto.inject_fault("iam:DeleteLoginProfile", "ServiceFailure", 500, 1, 0);
    let sleeps = Sleeps::default();

    let report = console_passwords(
        &faulty_network(&moto, &sleeps),
        &passwords_settings(&[]),
        passwords_schedule(),
        None,
    )
    .await
    .expect("every fault is retried");

    assert_eq!(principals(&report, Status::Applied), ["a", "b"]);
    assert!(!has_password(&iam, "a").await && !has_password(&iam, "b").await);
    assert_eq!(
        counts(
            &moto,
            &[
                "iam:GetCredentialReport",
                "iam:ListUserTags",
                "iam:DeleteLoginProfile"
            ]
        ),
        [1 + 1, 2 + 1, 2 + 1],
        "{:?}",
        moto.calls()
    );
    assert_backed_off(&sleeps, 8);
}

/// IAM deletes the password but the answer is lost: the retry finds nothing to delete. The run
/// succeeds and the password is gone.
#[tokio::test]
async fn console_passwords_a_lost_delete_answer_is_not_a_failure() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_unused_password(&moto, "alice").await;
    moto.inject_network_fault("iam:DeleteLoginProfile", NetworkFault::DropAfter, 1, 0);
    let report = console_passwords(
        &moto.sdk_config(),
        &passwords_settings(&[]),
        json!({"users": ["alice"]}),
        None,
    )
    .await
    .expect("a lost answer is not a failure");
    assert!(!has_password(&iam, "alice").await);
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_ne!(report.actions[0].status, Status::Failed, "{report:#?}");
    assert_eq!(moto.calls()["iam:DeleteLoginProfile"], 2);
}

#[tokio::test]
async fn console_passwords_users_failing_for_good_do_not_stop_the_others() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["a", "b", "c"] {
        user_with_unused_password(&moto, user).await;
    }
    let sdk = moto.sdk_config();
    let settings = passwords_settings(&[]);
    // The first user cannot be read; the first deletion fails; both after every retry.
    moto.inject_fault("iam:GetUser", "ServiceUnavailable", 503, 5, 0);
    moto.inject_fault("iam:DeleteLoginProfile", "ServiceFailure", 500, 5, 0);

    let (count, summary) =
        failures(console_passwords(&sdk, &settings, passwords_schedule(), None).await);

    assert_eq!(count, 2, "{summary}");
    assert!(
        summary.contains("GetUser failed: ServiceUnavailable")
            && summary.contains("DeleteLoginProfile failed: ServiceFailure"),
        "{summary}"
    );
    let mut left = Vec::new();
    for user in ["a", "b", "c"] {
        if has_password(&iam, user).await {
            left.push(user);
        }
    }
    assert_eq!(left.len(), 2, "only one of three was done: {left:?}");

    let report = console_passwords(&sdk, &settings, passwords_schedule(), None)
        .await
        .expect("the next run");
    assert_eq!(principals(&report, Status::Applied), left);
    for user in ["a", "b", "c"] {
        assert!(!has_password(&iam, user).await, "{user}");
    }
}

#[tokio::test]
async fn console_passwords_lockout_guards_fail_closed() {
    let moto = Moto::start();
    let iam = moto.iam();
    let sdk = moto.sdk_config();
    let settings = passwords_settings(&[]);
    for user in ["alice", "bob", "moto"] {
        user_with_unused_password(&moto, user).await;
    }
    let before = snapshot(&iam).await;

    // Its own identity cannot be read: nothing is done at all.
    moto.inject_fault("sts:GetCallerIdentity", "AccessDenied", 403, 1, 0);
    let err = console_passwords(&sdk, &settings, passwords_schedule(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("GetCallerIdentity failed: AccessDenied"),
        "{err}"
    );
    assert_eq!(snapshot(&iam).await, before);

    // bob's tags cannot be read, even after every retry: skipped; so is "self".
    moto.inject_fault("iam:ListUserTags", "ServiceUnavailable", 503, 5, 1);
    let report = console_passwords(
        &sdk,
        &settings,
        json!({"users": ["alice", "bob", "moto"]}),
        None,
    )
    .await
    .expect("skips are not errors");
    assert_eq!(principals(&report, Status::Applied), ["alice"]);
    let skipped: BTreeMap<&str, &str> = report
        .with_status(Status::Skipped)
        .map(|a| (a.principal.as_str(), a.reason.as_str()))
        .collect();
    assert!(skipped["bob"].contains("failing closed"), "{skipped:?}");
    assert!(
        skipped["moto"].contains("runs as this identity"),
        "{skipped:?}"
    );
    assert!(!has_password(&iam, "alice").await);
    assert!(has_password(&iam, "bob").await && has_password(&iam, "moto").await);
}

#[tokio::test]
async fn console_passwords_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
 {
    let moto = Moto::start();
    let iam = moto.iam();
    let users: Vec<String> = (0..60).map(|i| format!("user-{i:02}")).collect();
    for user in &users {
        user_with_unused_password(&moto, user).await;
    }
    let sdk = moto.sdk_config();
    let settings = passwords_settings(&[("MAX_ACTIONS", "100")]);

    moto.inject_network_fault(
        "iam:DeleteLoginProfile",
        NetworkFault::Delay(SLOW_CHANGE),
        100,
        0,
    );

    sweep_until_done(60, &passwords_schedule(), |event, deadline| {
        console_passwords(&sdk, &settings, event, deadline)
    })
    .await;

    for user in &users {
        assert!(!has_password(&iam, user).await, "{user}");
    }
}

/// Reading the account takes longer than the invocation has (here: a slow IAM). The run must still
/// end before its deadline, having changed nothing, rather than be killed by Lambda; otherwise
/// every later run is killed the same way and a big account is never fixed.
#[tokio::test]
async fn console_passwords_a_sweep_whose_reads_outlast_the_deadline_still_stops_before_it() {
    let moto = Moto::start();
    let iam = moto.iam();
    let users: Vec<String> = (0..5).map(|i| format!("user-{i:02}")).collect();
    for user in &users {
        user_with_unused_password(&moto, user).await;
    }
    let sdk = moto.sdk_config();
    let settings = passwords_settings(&[]);
    moto.inject_network_fault(
        "iam:GetUser",
        NetworkFault::Delay(Duration::from_millis(300)),
        100,
        0,
    );
    let before = snapshot(&iam).await;

    let deadline = SystemTime::now() + Duration::from_millis(800);
    let result = console_passwords(&sdk, &settings, passwords_schedule(), Some(deadline)).await;
    let overran = SystemTime::now().duration_since(deadline);
    moto.clear_faults();
    assert!(
        overran.is_err(),
        "the run ended {overran:?} after its deadline (reading 5 users at 0.3 s a call takes \
         1.5 s): {result:#?}"
    );
    assert_eq!(snapshot(&iam).await, before);
    let report = console_passwords(&sdk, &settings, passwords_schedule(), None)
        .await
        .expect("the next run");
    assert_eq!(report.count(Status::Applied), 5);
}

// -- password-policy --------------------------------------------------------------------------

const UPDATE_POLICY: &str = "iam:UpdateAccountPasswordPolicy";

async fn password_policy(
    sdk: &SdkConfig,
    event: Value,
    deadline: Option<SystemTime>,
) -> Result<Report, Error> {
    let settings = password_policy::Settings::from_env(&env(&[])).expect("valid settings");
    password_policy::handle(&Clients::new(sdk), &settings, event, Utc::now(), deadline).await
}

/// The live policy's minimum length, symbol requirement and reuse prevention (`None`: no
/// policy).
async fn policy_summary(iam: &Client) -> Option<(i32, bool, Option<i32>)> {
    let policy = iam
        .get_account_password_policy()
        .send()
        .await
        .ok()?
        .password_policy?;
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
    let moto = Moto::start();
    let iam = moto.iam();
    // The first read throttled, the re-read before the change slow.
    moto.inject_fault("iam:GetAccountPasswordPolicy", "Throttling", 400, 1, 0);
    moto.inject_network_fault(
        "iam:GetAccountPasswordPolicy",
        NetworkFault::Delay(SLOW),
        1,
        1,
    );
    moto.inject_fault(UPDATE_POLICY, "ServiceUnavailable", 503, 1, 0);
    moto.inject_network_fault(UPDATE_POLICY, NetworkFault::Drop, 1, 0);
    moto.inject_network_fault(UPDATE_POLICY, NetworkFault::DropAfter, 1, 0);
    let sleeps = Sleeps::default();

    let report = password_policy(
        &faulty_network(&moto, &sleeps),
        sample_event("password-policy", "scheduled"),
        None,
    )
    .await
    .expect("every fault is retried");

    assert_eq!(
        counts(&moto, &["iam:GetAccountPasswordPolicy", UPDATE_POLICY]),
        [2 + 2, 1 + 3]
    );
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert_eq!(policy_summary(&iam).await, FLOOR);
    assert_backed_off(&sleeps, 5);
}

#[tokio::test]
async fn password_policy_a_deadline_too_close_changes_nothing_and_the_next_run_does() {
    let moto = Moto::start();
    let iam = moto.iam();
    let sdk = moto.sdk_config();
    // Reading the policy takes most of a 2 s budget: less than its fifth (the margin) is left.
    let budget = Duration::from_secs(2);
    moto.inject_network_fault(
        "iam:GetAccountPasswordPolicy",
        NetworkFault::Delay(Duration::from_millis(1650)),
        1,
        0,
    );
    let deadline = SystemTime::now() + budget;
    let report = password_policy(
        &sdk,
        sample_event("password-policy", "scheduled"),
        Some(deadline),
    )
    .await
    .expect("a run stopped by its deadline is not an error");
    assert!(SystemTime::now() < deadline, "ended before the deadline");
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_eq!(report.actions[0].status, Status::Skipped);
    assert!(report.actions[0].reason.starts_with(STOPPED), "{report:#?}");
    assert_eq!(counts(&moto, &[UPDATE_POLICY]), [0]);
    assert_eq!(policy_summary(&iam).await, None);

    // The next run, with time enough, does it.
    let deadline = SystemTime::now() + budget;
    let report = password_policy(
        &sdk,
        sample_event("password-policy", "scheduled"),
        Some(deadline),
    )
    .await
    .expect("report");
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert_eq!(policy_summary(&iam).await, FLOOR);
}

#[tokio::test]
async fn password_policy_duplicate_events_at_once_end_as_one_run() {
    let moto = Moto::start();
    let iam = moto.iam();
    let sdk = moto.sdk_config();
    let deleted = sample_event(
        "password-policy",
        "cloudtrail-delete-account-password-policy",
    );
    // The same CloudTrail event delivered twice at once, and the schedule meanwhile.
    let (a, b, c) = tokio::join!(
        password_policy(&sdk, deleted.clone(), None),
        password_policy(&sdk, deleted.clone(), None),
        password_policy(&sdk, sample_event("password-policy", "scheduled"), None),
    );
    let applied: usize = [a, b, c]
        .into_iter()
        .map(|r| r.expect("no run fails").count(Status::Applied))
        .sum();
    assert!(applied >= 1);
    assert_eq!(policy_summary(&iam).await, FLOOR);
    let updates = counts(&moto, &[UPDATE_POLICY])[0];
    assert!(
        (1..=3).contains(&updates),
        "at most one update per run: {updates}"
    );

    // Delivered once more: nothing to do, no update.
    let report = password_policy(&sdk, deleted, None).await.expect("report");
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(counts(&moto, &[UPDATE_POLICY]), [updates]);
}

// -- inline-policies --------------------------------------------------------------------------

const ALL_KINDS: (&str, &str) = ("INLINE_POLICY_PRINCIPALS", "users,groups,roles");

fn inline_settings(pairs: &[(&str, &str)]) -> inline_policies::Settings {
    inline_policies::Settings::from_env(&env(pairs)).expect("valid settings")
}

async fn inline_policies(
    sdk: &SdkConfig,
    settings: &inline_policies::Settings,
    event: Value,
    deadline: Option<SystemTime>,
) -> Result<Report, Error> {
    inline_policies::handle(&Clients::new(sdk), settings, event, Utc::now(), deadline).await
}

fn inline_schedule() -> Value {
    sample_event("inline-policies", "scheduled")
}

fn document(action: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
}

fn managed_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:policy/iam-remediation/{name}")
}

/// One inline policy on a user, group or role.
#[derive(Debug, Clone, Copy)]
struct Inline {
    kind: &'static str,
    principal: &'static str,
    policy: &'static str,
    action: &'static str,
}

impl Inline {
    const fn new(
        kind: &'static str,
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
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let mut made = std::collections::BTreeSet::new();
    for p in policies {
        let text = document(p.action).to_string();
        let new = made.insert((p.kind, p.principal));
        match p.kind {
            "user" => {
                if new {
                    create_user(iam, p.principal).await;
                }
                iam.put_user_policy()
                    .user_name(p.principal)
                    .policy_name(p.policy)
                    .policy_document(text)
                    .send()
                    .await
                    .expect("PutUserPolicy");
            }
            "group" => {
                if new {
                    iam.create_group()
                        .group_name(p.principal)
                        .send()
                        .await
                        .expect("CreateGroup");
                }
                iam.put_group_policy()
                    .group_name(p.principal)
                    .policy_name(p.policy)
                    .policy_document(text)
                    .send()
                    .await
                    .expect("PutGroupPolicy");
            }
            _ => {
                if new {
                    iam.create_role()
                        .role_name(p.principal)
                        .assume_role_policy_document(trust.to_string())
                        .send()
                        .await
                        .expect("CreateRole");
                }
                iam.put_role_policy()
                    .role_name(p.principal)
                    .policy_name(p.policy)
                    .policy_document(text)
                    .send()
                    .await
                    .expect("PutRolePolicy");
            }
        }
    }
}

/// The document of a managed policy's default version.
async fn managed_document(iam: &Client, arn: &str) -> Value {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .expect("GetPolicy")
        .policy
        .expect("policy");
    let raw = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(policy.default_version_id.expect("default version"))
        .send()
        .await
        .expect("GetPolicyVersion")
        .policy_version
        .and_then(|v| v.document)
        .expect("document");
    serde_json::from_str(&decode_document(&raw).expect("decodable")).expect("JSON")
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

const ALICE_S3: Inline = Inline::new("user", "alice", "s3-read", "s3:GetObject");
const ALICE_LOGS: Inline = Inline::new("user", "alice", "logs", "logs:PutLogEvents");
const DEVS_DEPLOY: Inline = Inline::new("group", "devs", "deploy", "lambda:UpdateFunctionCode");
const CI_ECR: Inline = Inline::new("role", "ci", "ecr", "ecr:GetAuthorizationToken");

#[tokio::test]
async fn inline_policies_retry_throttling_5xx_timeouts_and_dropped_connections_with_backoff() {
    let moto = Moto::start();
    let iam = moto.iam();
    let policies = [ALICE_S3, DEVS_DEPLOY, CI_ECR];
    seed(&iam, &policies).await;
    moto.inject_fault(
        "iam:GetAccountAuthorizationDetails",
        "ServiceUnavailable",
        503,
        1,
        0,
    );
    moto.inject_fault("iam:GetAccountSummary", "Throttling", 400, 1, 0);
    moto.inject_network_fault("sts:GetCallerIdentity", NetworkFault::Drop, 1, 0);
    moto.inject_network_fault("iam:GetUserPolicy", NetworkFault::Drop, 1, 0);
    // Created, but the answer is late: the retry finds it exists and reuses it.
    moto.inject_network_fault("iam:CreatePolicy", NetworkFault::DelayAnswer(SLOW), 1, 0);
    moto.inject_fault("iam:AttachGroupPolicy", "ServiceFailure", 500, 1, 0);
    moto.inject_network_fault("iam:AttachGroupPolicy", NetworkFault::DropAfter, 1, 0);
    moto.inject_network_fault("iam:DeleteRolePolicy", NetworkFault::Delay(SLOW), 1, 0);
    moto.inject_fault("iam:DeleteUserPolicy", "Throttling", 400, 2, 0);
    let sleeps = Sleeps::default();

    let report = inline_policies(
        &faulty_network(&moto, &sleeps),
        &inline_settings(&[ALL_KINDS]),
        inline_schedule(),
        None,
    )
    .await
    .expect("every fault is retried");

    assert_eq!(
        principals(&report, Status::Applied),
        ["alice", "ci", "devs"],
        "{report:#?}"
    );
    assert_all_converted(&iam, &policies).await;
    assert_eq!(
        counts(
            &moto,
            &[
                "iam:CreatePolicy",
                "iam:AttachGroupPolicy",
                "iam:DeleteRolePolicy",
                "iam:DeleteUserPolicy"
            ]
        ),
        [3 + 1, 1 + 2, 1 + 1, 1 + 2],
        "{:?}",
        moto.calls()
    );
    assert_backed_off(&sleeps, 10);
}

/// A group's conversion fails between creating its managed policy and attaching it, and the
/// clean-up fails too (an unattached managed policy is left); a role's inline policy cannot be
/// deleted after its managed copy was attached. No permission is lost, the user's conversion is
/// done anyway, the run fails listing both, and the next run finishes with no orphan.
#[tokio::test]
async fn inline_policies_a_failure_half_way_loses_nothing_stops_no_one_and_the_next_run_finishes() {
    let moto = Moto::start();
    let iam = moto.iam();
    let policies = [ALICE_S3, DEVS_DEPLOY, CI_ECR];
    seed(&iam, &policies).await;
    let sdk = moto.sdk_config();
    let settings = inline_settings(&[ALL_KINDS]);
    moto.inject_fault("iam:AttachGroupPolicy", "ServiceUnavailable", 503, 5, 0);
    moto.inject_fault("iam:DeletePolicy", "AccessDenied", 403, 1, 0);
    moto.inject_fault("iam:DeleteRolePolicy", "AccessDenied", 403, 1, 0);

    let (count, summary) =
        failures(inline_policies(&sdk, &settings, inline_schedule(), None).await);

    assert_eq!(count, 2, "{summary}");
    assert!(
        summary.contains("AttachGroupPolicy failed: ServiceUnavailable")
            && summary.contains("the inline policy is kept")
            && summary.contains("could not be removed"),
        "{summary}"
    );
    assert!(
        summary.contains("DeleteRolePolicy failed: AccessDenied")
            && summary.contains("is attached"),
        "{summary}"
    );
    assert_nothing_lost(&iam, &policies).await;
    let state = snapshot(&iam).await;
    assert!(!ALICE_S3.is_inline(&state) && ALICE_S3.is_attached(&state));
    assert!(DEVS_DEPLOY.is_inline(&state) && !DEVS_DEPLOY.is_attached(&state));
    assert!(CI_ECR.is_inline(&state) && CI_ECR.is_attached(&state));

    // The next run adopts the unattached managed policy and finishes both conversions.
    moto.reset_calls();
    let report = inline_policies(&sdk, &settings, inline_schedule(), None)
        .await
        .expect("the next run");
    assert_eq!(principals(&report, Status::Applied), ["ci", "devs"]);
    assert_all_converted(&iam, &policies).await;
    assert_eq!(
        counts(&moto, &["iam:CreatePolicy"]),
        [2],
        "refused as existing, then reused"
    );
}

#[tokio::test]
async fn inline_policies_duplicate_and_concurrent_events_end_as_one_run() {
    let moto = Moto::start();
    let iam = moto.iam();
    let policies = [ALICE_S3, ALICE_LOGS, DEVS_DEPLOY];
    seed(&iam, &policies).await;
    let sdk = moto.sdk_config();
    let settings = inline_settings(&[]);
    // The CloudTrail event of alice's s3-read, delivered twice, with two schedules, all at once.
    let put = sample_event("inline-policies", "cloudtrail-put-user-policy");
    let runs = tokio::join!(
        inline_policies(&sdk, &settings, inline_schedule(), None),
        inline_policies(&sdk, &settings, put.clone(), None),
        inline_policies(&sdk, &settings, inline_schedule(), None),
        inline_policies(&sdk, &settings, put.clone(), None),
    );
    for report in [runs.0, runs.1, runs.2, runs.3] {
        let report = report.expect("no run fails");
        assert_eq!(report.count(Status::Failed), 0, "{report:#?}");
    }
    assert_all_converted(&iam, &policies).await;

    // Delivered once more: nothing left, no call that changes anything.
    moto.reset_calls();
    for event in [put, inline_schedule()] {
        let report = inline_policies(&sdk, &settings, event, None)
            .await
            .expect("re-delivery");
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
    let moto = Moto::start();
    let iam = moto.iam();
    let own = Inline::new("user", "moto", "self", "iam:*");
    seed(&iam, &[ALICE_S3, CI_ECR, own]).await;
    let sdk = moto.sdk_config();
    let settings = inline_settings(&[ALL_KINDS]);
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
            inline_schedule(),
            "GetCallerIdentity failed: AccessDenied",
        ),
    ];
    for (action, event, expected) in cases {
        moto.inject_fault(action, "AccessDenied", 403, 1, 0);
        let err = inline_policies(&sdk, &settings, event.clone(), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{event}: {err}");
        assert_eq!(snapshot(&iam).await, before, "{event} changed something");
    }

    // Readable again: the others are converted, never its own identity.
    let report = inline_policies(&sdk, &settings, inline_schedule(), None)
        .await
        .expect("report");
    assert_eq!(principals(&report, Status::Applied), ["alice", "ci"]);
    let skipped = report
        .with_status(Status::Skipped)
        .find(|a| a.principal == "moto")
        .expect("self is reported");
    assert!(
        skipped.reason.contains("runs as this identity"),
        "{}",
        skipped.reason
    );
    let state = snapshot(&iam).await;
    assert!(own.is_inline(&state) && !own.is_attached(&state));
}

#[tokio::test]
async fn inline_policies_a_sweep_too_big_for_its_deadline_stops_before_it_and_the_next_runs_finish_it()
 {
    let moto = Moto::start();
    let iam = moto.iam();
    let names: Vec<&'static str> = (0..60)
        .map(|i| &*Box::leak(format!("user-{i:02}").into_boxed_str()))
        .collect();
    let policies: Vec<Inline> = names
        .iter()
        .map(|name| Inline::new("user", name, "s3-read", "s3:GetObject"))
        .collect();
    seed(&iam, &policies).await;
    let sdk = moto.sdk_config();
    let settings = inline_settings(&[("MAX_ACTIONS", "100")]);

    moto.inject_network_fault("iam:CreatePolicy", NetworkFault::Delay(SLOW_CHANGE), 100, 0);

    sweep_until_done(60, &inline_schedule(), |event, deadline| {
        inline_policies(&sdk, &settings, event, deadline)
    })
    .await;

    assert_all_converted(&iam, &policies).await;
}
