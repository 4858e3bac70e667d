//! The inline-policy rule: a pure function of one principal's policies, the account's
//! attachment quotas and the settings.

use chrono::{DateTime, Utc};
use iam_remediation::{PlannedAction, Rule};
use serde_json::{Value, json};

use crate::apply::{
    Conversion, MAX_MANAGED_POLICY_SIZE, managed_policy_arn, managed_policy_name, policy_size,
};
use crate::facts::{AttachmentQuotas, Facts, InlinePolicy, PrincipalPolicies};
use crate::settings::{InlinePolicies, InlinePolicyAction};

/// The report's `action` names.
pub const CONVERT_INLINE_POLICY: &str = "convert-inline-policy";
pub const DELETE_INLINE_POLICY: &str = "delete-inline-policy";

/// What the apply stage does for one planned action.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyOrder {
    /// Create (or reuse) the managed policy, attach it, then delete the inline policy.
    Convert(Conversion),
    /// Delete the inline policy whose document is this (the undo record).
    Delete {
        policy_name: String,
        document: Value,
    },
    /// Nothing can be done safely (the document could not be read): the action is always
    /// planned as blocked, never applied.
    Keep,
}

impl Rule for InlinePolicies {
    type Facts = Facts;
    type Order = PolicyOrder;

    fn plan(&self, facts: &Facts, _now: DateTime<Utc>) -> Vec<PlannedAction<PolicyOrder>> {
        plan(&facts.policies, &facts.quotas, self)
    }
}

/// The planned changes for one principal's inline policies, in policy-name order.
///
/// Roles AWS owns (`/aws-service-role/`, `/aws-reserved/`) get no action at all, not even a
/// skipped one: they are not the account owner's to fix, and reporting them on every sweep
/// would only be noise (and keep an AWS Config rule non-compliant forever).
pub fn plan(
    facts: &PrincipalPolicies,
    quotas: &AttachmentQuotas,
    settings: &InlinePolicies,
) -> Vec<PlannedAction<PolicyOrder>> {
    if facts.is_aws_reserved() {
        return Vec::new();
    }
    let mut policies: Vec<&InlinePolicy> = facts.inline.iter().collect();
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    let quota = quotas.for_kind(facts.principal.kind);
    let mut free_slots = quota.saturating_sub(facts.attached.len());
    let mut actions = Vec::with_capacity(policies.len());
    for policy in policies {
        let action = match settings.action {
            InlinePolicyAction::Convert => convert(facts, policy, quota, &mut free_slots),
            InlinePolicyAction::Delete => delete(facts, policy),
        };
        actions.push(action);
    }
    actions
}

fn convert(
    facts: &PrincipalPolicies,
    policy: &InlinePolicy,
    quota: usize,
    free_slots: &mut usize,
) -> PlannedAction<PolicyOrder> {
    let principal = &facts.principal;
    let managed_name = managed_policy_name(principal, &policy.name);
    let reason = format!("inline policy: replaced by customer managed policy {managed_name}");
    let keep = |why: String| {
        PlannedAction::new(
            principal.clone(),
            CONVERT_INLINE_POLICY,
            &policy.name,
            &reason,
            PolicyOrder::Keep,
        )
        .blocked_by(why)
    };
    let document = match &policy.document {
        Ok(document) => document.clone(),
        Err(why) => return keep(format!("{why}: the inline policy is kept")),
    };
    let Some(managed_arn) = managed_policy_arn(&facts.arn, &managed_name) else {
        return keep(format!(
            "no account in the principal's ARN {:?}: the inline policy is kept",
            facts.arn
        ));
    };
    let action = PlannedAction::new(
        principal.clone(),
        CONVERT_INLINE_POLICY,
        &policy.name,
        &reason,
        PolicyOrder::Convert(Conversion {
            policy_name: policy.name.clone(),
            text: policy.text.clone(),
            document: document.clone(),
            managed_name: managed_name.clone(),
            managed_arn: managed_arn.clone(),
        }),
    )
    .with_details(json!({"document": document, "managed_policy": managed_name, "managed_policy_arn": managed_arn}));

    let size = policy_size(&policy.text);
    if size > MAX_MANAGED_POLICY_SIZE {
        return action.blocked_by(format!(
            "the document has {size} characters (not counting whitespace), more than a managed \
             policy's {MAX_MANAGED_POLICY_SIZE}: the inline policy is kept; split it by hand"
        ));
    }
    // A re-run after a partial conversion finds its managed policy attached: no new slot needed.
    if !facts.attached.contains(&managed_arn) {
        if *free_slots == 0 {
            return action.blocked_by(format!(
                "{principal} is at its quota of {quota} attached managed policies ({} attached): \
                 the inline policy is kept",
                facts.attached.len()
            ));
        }
        *free_slots -= 1;
    }
    action
}

fn delete(facts: &PrincipalPolicies, policy: &InlinePolicy) -> PlannedAction<PolicyOrder> {
    let principal = &facts.principal;
    let reason = "inline policy (INLINE_POLICY_ACTION=delete); its document is in details";
    match &policy.document {
        Ok(document) => PlannedAction::new(
            principal.clone(),
            DELETE_INLINE_POLICY,
            &policy.name,
            reason,
            PolicyOrder::Delete {
                policy_name: policy.name.clone(),
                document: document.clone(),
            },
        )
        .with_details(json!({"document": document})),
        // Deleting a document we cannot record would lose it for good.
        Err(why) => PlannedAction::new(
            principal.clone(),
            DELETE_INLINE_POLICY,
            &policy.name,
            reason,
            PolicyOrder::Keep,
        )
        .with_details(json!({"document_text": policy.text}))
        .blocked_by(format!("{why}: the inline policy is kept")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use iam_remediation::{Env, FromEnv, Principal};

    fn settings(pairs: &[(&str, &str)]) -> InlinePolicies {
        InlinePolicies::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn document(action: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
    }

    fn policy(name: &str) -> InlinePolicy {
        let text = document(&format!("s3:{name}")).to_string();
        InlinePolicy::from_iam(name, &text)
    }

    fn principal(
        principal: Principal,
        path: &str,
        inline: Vec<InlinePolicy>,
        attached: usize,
    ) -> PrincipalPolicies {
        let resource = principal.kind.as_str();
        PrincipalPolicies {
            arn: format!(
                "arn:aws:iam::123456789012:{resource}{path}{}",
                principal.name
            ),
            principal,
            path: path.to_owned(),
            tags: iam_remediation::reads::Tags::default(),
            attached: (0..attached)
                .map(|i| format!("arn:aws:iam::123456789012:policy/other-{i}"))
                .collect(),
            inline,
        }
    }

    fn alice(inline: Vec<InlinePolicy>, attached: usize) -> PrincipalPolicies {
        principal(Principal::user("alice"), "/", inline, attached)
    }

    fn conversion(action: &PlannedAction<PolicyOrder>) -> &Conversion {
        match &action.order {
            PolicyOrder::Convert(conversion) => conversion,
            other => panic!("not a conversion: {other:?}"),
        }
    }

    #[test]
    fn each_inline_policy_is_converted_with_its_own_document() {
        let actions = plan(
            &alice(vec![policy("write"), policy("read")], 0),
            &AttachmentQuotas::default(),
            &settings(&[]),
        );
        assert_eq!(actions.len(), 2);
        let read = &actions[0];
        assert_eq!(
            (read.action, read.target.as_str(), read.blocked.as_deref()),
            (CONVERT_INLINE_POLICY, "read", None)
        );
        let order = conversion(read);
        assert_eq!(order.document, document("s3:read"));
        assert_eq!(order.managed_name, "user+alice+read");
        assert_eq!(
            order.managed_arn,
            "arn:aws:iam::123456789012:policy/iam-remediation/user+alice+read"
        );
        assert_eq!(
            read.reason,
            "inline policy: replaced by customer managed policy user+alice+read"
        );
        let details = read.details.as_ref().unwrap();
        assert_eq!(details["document"], document("s3:read"));
        assert_eq!(details["managed_policy"], "user+alice+read");
        assert_eq!(conversion(&actions[1]).document, document("s3:write"));
    }

    #[test]
    fn groups_and_roles_get_their_own_names() {
        let quotas = AttachmentQuotas::default();
        let group = plan(
            &principal(Principal::group("admins"), "/", vec![policy("p")], 0),
            &quotas,
            &settings(&[]),
        );
        assert_eq!(conversion(&group[0]).managed_name, "group+admins+p");
        let role = plan(
            &principal(Principal::role("ci"), "/team/", vec![policy("p")], 0),
            &quotas,
            &settings(&[]),
        );
        assert_eq!(conversion(&role[0]).managed_name, "role+ci+p");
    }

    #[test]
    fn aws_reserved_roles_get_no_action() {
        let quotas = AttachmentQuotas::default();
        for path in [
            "/aws-service-role/config.amazonaws.com/",
            "/aws-reserved/sso.amazonaws.com/",
        ] {
            let role = principal(
                Principal::role("AWSServiceRoleForX"),
                path,
                vec![policy("p")],
                0,
            );
            assert!(plan(&role, &quotas, &settings(&[])).is_empty(), "{path}");
            assert!(
                plan(
                    &role,
                    &quotas,
                    &settings(&[("INLINE_POLICY_ACTION", "delete")])
                )
                .is_empty(),
                "{path}"
            );
        }
        // A user under such a path is an ordinary user.
        let user = principal(Principal::user("u"), "/aws-reserved/", vec![policy("p")], 0);
        assert_eq!(plan(&user, &quotas, &settings(&[])).len(), 1);
    }

    #[test]
    fn the_attachment_quota_keeps_the_policies_that_do_not_fit() {
        let quotas = AttachmentQuotas {
            user: 10,
            group: 10,
            role: 10,
        };
        let actions = plan(
            &alice(vec![policy("a"), policy("b"), policy("c")], 8),
            &quotas,
            &settings(&[]),
        );
        let blocked: Vec<_> = actions.iter().map(|a| a.blocked.is_some()).collect();
        assert_eq!(blocked, vec![false, false, true]);
        let why = actions[2].blocked.as_deref().unwrap();
        assert_eq!(
            why,
            "user alice is at its quota of 10 attached managed policies (8 attached): the inline policy is kept"
        );

        let full = plan(&alice(vec![policy("a")], 10), &quotas, &settings(&[]));
        assert!(full[0].blocked.is_some());
        // A raised quota leaves room.
        let raised = plan(
            &alice(vec![policy("a")], 10),
            &AttachmentQuotas { user: 20, ..quotas },
            &settings(&[]),
        );
        assert!(raised[0].blocked.is_none());
        // Delete mode attaches nothing: no quota applies.
        let delete = plan(
            &alice(vec![policy("a")], 10),
            &quotas,
            &settings(&[("INLINE_POLICY_ACTION", "delete")]),
        );
        assert!(delete[0].blocked.is_none());
    }

    #[test]
    fn a_managed_policy_already_attached_needs_no_new_slot() {
        let mut facts = alice(vec![policy("a")], 10);
        facts.attached[0] = "arn:aws:iam::123456789012:policy/iam-remediation/user+alice+a".into();
        let actions = plan(&facts, &AttachmentQuotas::default(), &settings(&[]));
        assert!(actions[0].blocked.is_none(), "{:?}", actions[0].blocked);
    }

    #[test]
    fn a_document_too_large_for_a_managed_policy_is_kept() {
        let resources: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:s3:::bucket-{i:04}/*"))
            .collect();
        let big = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]});
        let facts = principal(
            Principal::role("big"),
            "/",
            vec![InlinePolicy::from_iam("big", &big.to_string())],
            0,
        );
        let actions = plan(&facts, &AttachmentQuotas::default(), &settings(&[]));
        let why = actions[0].blocked.as_deref().unwrap();
        assert!(why.contains("more than a managed policy's 6144"), "{why}");
        // It takes no quota slot.
        let mut two = facts.clone();
        two.inline.push(policy("small"));
        let actions = plan(
            &two,
            &AttachmentQuotas {
                role: 1,
                ..AttachmentQuotas::default()
            },
            &settings(&[]),
        );
        assert!(actions[0].blocked.is_some() && actions[1].blocked.is_none());
    }

    #[test]
    fn delete_mode_records_the_document() {
        let actions = plan(
            &alice(vec![policy("a")], 0),
            &AttachmentQuotas::default(),
            &settings(&[("INLINE_POLICY_ACTION", "delete")]),
        );
        let action = &actions[0];
        assert_eq!(action.action, DELETE_INLINE_POLICY);
        assert_eq!(
            action.details.as_ref().unwrap()["document"],
            document("s3:a")
        );
        assert_eq!(
            action.order,
            PolicyOrder::Delete {
                policy_name: "a".into(),
                document: document("s3:a")
            }
        );
    }

    #[test]
    fn unreadable_documents_are_never_acted_on() {
        let broken = InlinePolicy::from_iam("broken", "%7Bnot json");
        for mode in ["convert", "delete"] {
            let actions = plan(
                &alice(vec![broken.clone()], 0),
                &AttachmentQuotas::default(),
                &settings(&[("INLINE_POLICY_ACTION", mode)]),
            );
            assert_eq!(actions[0].order, PolicyOrder::Keep, "{mode}");
            assert!(
                actions[0].blocked.as_deref().unwrap().contains("not JSON"),
                "{mode}"
            );
        }
    }

    #[test]
    fn no_inline_policy_no_action() {
        assert!(
            plan(
                &alice(vec![], 3),
                &AttachmentQuotas::default(),
                &settings(&[])
            )
            .is_empty()
        );
    }
}
