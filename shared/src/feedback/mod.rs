//! What goes back to the services that asked: evaluations to AWS Config custom rules, workflow
//! updates to Security Hub findings.

pub mod config_rule;
pub mod securityhub;
