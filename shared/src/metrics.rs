//! CloudWatch metrics in Embedded Metric Format, written to the log: alarms and dashboards on
//! actions planned / applied / warned / skipped / failed cost no API call and no extra
//! permission.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::report::{Report, Status};

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "IamRemediation";

/// One EMF document per action kind in the report, plus a per-function run document.
pub fn documents(report: &Report, timestamp_ms: i64) -> Vec<serde_json::Value> {
    let mut counts: BTreeMap<&'static str, [u64; 5]> = BTreeMap::new();
    for action in &report.actions {
        let slot = match action.status {
            Status::Planned => 0,
            Status::Applied => 1,
            Status::Warned => 2,
            Status::Skipped => 3,
            Status::Failed => 4,
        };
        counts.entry(action.action).or_default()[slot] += 1;
    }
    let metric_names = ["Planned", "Applied", "Warned", "Skipped", "Failed"];
    let metric_list: Vec<_> = metric_names
        .iter()
        .map(|name| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut documents: Vec<_> = counts
        .into_iter()
        .map(|(action, values)| {
            let mut document = json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Function", "Action"], ["Function"]],
                        "Metrics": metric_list,
                    }]
                },
                "Function": report.function,
                "Action": action,
            });
            for (name, value) in metric_names.iter().zip(values) {
                document[*name] = json!(value);
            }
            document
        })
        .collect();
    documents.push(json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [{"Name": "Examined", "Unit": "Count"}, {"Name": "Errors", "Unit": "Count"}],
            }]
        },
        "Function": report.function,
        "Examined": report.examined,
        "Errors": report.errors.len(),
    }));
    documents
}

/// Writes the report's metrics to standard output, one EMF document a line.
pub fn emit(report: &Report) {
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let mut out = String::new();
    for document in documents(report, timestamp_ms) {
        let _ = writeln!(out, "{document}");
    }
    #[allow(
        clippy::print_stdout,
        reason = "EMF documents are read from the log stream"
    )]
    {
        print!("{out}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::TriggerKind;
    use crate::principal::Principal;
    use crate::report::ActionRecord;

    #[test]
    fn counts_per_action_and_status() {
        let mut report = Report::new("access-keys", TriggerKind::Schedule, false);
        report.examined = 7;
        for status in [Status::Applied, Status::Applied, Status::Failed] {
            report.actions.push(ActionRecord {
                account: "123456789012".into(),
                principal_type: "user",
                principal: "alice".into(),
                subject: Principal::user("alice").into(),
                action: "deactivate-access-key",
                target: "AKIA".into(),
                reason: "old".into(),
                status,
                details: None,
                error: None,
            });
        }
        let documents = documents(&report, 1);
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[0]["Action"], "deactivate-access-key");
        assert_eq!(documents[0]["Applied"], 2);
        assert_eq!(documents[0]["Failed"], 1);
        assert_eq!(documents[0]["Planned"], 0);
        assert_eq!(documents[0]["Warned"], 0);
        assert_eq!(documents[1]["Examined"], 7);
        assert_eq!(
            documents[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
    }
}
