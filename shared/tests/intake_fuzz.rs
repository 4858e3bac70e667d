//! Hostile input: property tests of event intake. Arbitrary JSON, and every sample event in
//! `events/` mutated field by field, must never panic, and whatever intake accepts must be one
//! of the documented shapes with validated contents (the only way to reach an IAM change).

use std::path::PathBuf;

use iam_remediation::intake::{self, FindingResource, Inputs, Trigger, UnusedAccess};
use iam_remediation::principal::{PrincipalKind, is_valid_access_key_id, is_valid_name};
use proptest::prelude::*;
use serde_json::{Map, Value};

const EVERYTHING: Inputs = Inputs {
    account: true,
    cloudtrail_events: &[
        "CreateAccessKey",
        "UpdateAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "UpdateAccountPasswordPolicy",
        "DeleteAccountPasswordPolicy",
        "PutUserPolicy",
        "PutGroupPolicy",
        "PutRolePolicy",
    ],
    health_events: &["AWS_RISK_CREDENTIALS_EXPOSED"],
    securityhub_controls: &[
        "IAM.3", "IAM.4", "IAM.5", "IAM.7", "IAM.8", "IAM.10", "IAM.11", "IAM.12", "IAM.13",
        "IAM.14", "IAM.15", "IAM.16", "IAM.17", "IAM.22",
    ],
    securityhub_shared_controls: &["IAM.8", "IAM.22"],
    unused_access_findings: &["UnusedIAMUserAccessKey", "UnusedIAMUserPassword"],
    principals: &[
        PrincipalKind::User,
        PrincipalKind::Group,
        PrincipalKind::Role,
    ],
};

/// Every sample event shipped in `events/`.
fn samples() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut events = Vec::new();
    for dir in std::fs::read_dir(&root).expect("events/") {
        for file in std::fs::read_dir(dir.expect("entry").path()).expect("function dir") {
            let path = file.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("read");
                events.push(
                    serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                );
            }
        }
    }
    assert!(events.len() >= 10, "sample events found: {}", events.len());
    events
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("AKIAIOSFODNN7EXAMPLE"),
            Just("aws.iam"),
            Just("Scheduled Event"),
            Just("NON_COMPLIANT"),
            Just("AWS::IAM::User"),
            Just("alice"),
            Just("../../etc"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_-]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// All JSON pointers of a value.
fn pointers(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let pointer = format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(pointer.clone());
                pointers(child, &pointer, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let pointer = format!("{prefix}/{index}");
                out.push(pointer.clone());
                pointers(child, &pointer, out);
            }
        }
        _ => {}
    }
}

/// What intake accepts must be documented and validated.
fn check_accepted(trigger: &Trigger) {
    match trigger {
        Trigger::Schedule => {}
        Trigger::ApiCall(call) => {
            assert!(
                EVERYTHING
                    .cloudtrail_events
                    .contains(&call.event_name.as_str())
            );
            for field in ["userName", "groupName", "roleName"] {
                if let Ok(Some(name)) = call.principal_name(field) {
                    assert!(is_valid_name(name));
                }
            }
        }
        Trigger::ComplianceChange(change) => assert!(!change.resource_id.is_empty()),
        Trigger::Health(event) => {
            // What the entities are is checked by the function that handles the type.
            assert!(
                EVERYTHING
                    .health_events
                    .contains(&event.event_type_code.as_str())
            );
        }
        Trigger::Findings(findings) => {
            assert!(!findings.handled.is_empty() || !findings.ignored.is_empty());
            for finding in &findings.handled {
                assert!(
                    EVERYTHING
                        .securityhub_controls
                        .contains(&finding.control.as_str())
                );
                match &finding.resource {
                    FindingResource::User(name) => assert!(is_valid_name(name)),
                    FindingResource::UserId(id) => assert!(id.starts_with("AIDA")),
                    FindingResource::AccessKey { key_id, user } => {
                        assert!(key_id.is_some() || user.is_some());
                        assert!(key_id.as_deref().is_none_or(is_valid_access_key_id));
                        assert!(user.as_deref().is_none_or(is_valid_name));
                    }
                    FindingResource::Account => {}
                }
            }
        }
        Trigger::UnusedAccess(UnusedAccess::Finding(finding)) => {
            assert!(is_valid_name(&finding.user));
            assert!(
                EVERYTHING
                    .unused_access_findings
                    .contains(&finding.finding_type.as_str())
            );
        }
        Trigger::UnusedAccess(UnusedAccess::Ignored(why)) => assert!(!why.is_empty()),
        Trigger::ConfigRule(rule) => assert!(!rule.result_token.is_empty()),
        Trigger::Manual(payload) => {
            for names in [&payload.users, &payload.groups, &payload.roles]
                .into_iter()
                .flatten()
            {
                assert!(!names.is_empty() && names.iter().all(|n| is_valid_name(n)));
            }
            // Other fields are for the function, which refuses what it does not know.
            for field in ["users", "groups", "roles", "dry_run"] {
                assert!(!payload.fields.contains_key(field));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(event in json_value()) {
        if let Ok(trigger) = intake::parse(event, &EVERYTHING) {
            check_accepted(&trigger);
        }
    }

    #[test]
    fn mutated_sample_events_never_panic_and_stay_validated(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        replacement in json_value(),
        remove in any::<bool>(),
    ) {
        let samples = samples();
        let mut event = samples[pick.index(samples.len())].clone();
        let mut all = Vec::new();
        pointers(&event, "", &mut all);
        if !all.is_empty() {
            let pointer = &all[at.index(all.len())];
            let (parent, key) = pointer.rsplit_once('/').expect("a pointer has a slash");
            if remove {
                match event.pointer_mut(parent) {
                    Some(Value::Object(map)) => { map.remove(&key.replace("~1", "/").replace("~0", "~")); }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() && i < items.len() {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            } else if let Some(slot) = event.pointer_mut(pointer) {
                *slot = replacement;
            }
        }
        if let Ok(trigger) = intake::parse(event, &EVERYTHING) {
            check_accepted(&trigger);
        }
    }
}

#[test]
fn every_sample_event_is_accepted() {
    for event in samples() {
        let result = intake::parse(event.clone(), &EVERYTHING);
        assert!(result.is_ok(), "{event}: {result:?}");
    }
}
