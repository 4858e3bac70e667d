//! Live facts about inline policies: every user's, group's and role's inline policies with their
//! documents, tags and attached managed policies, read for a whole account in a few calls
//! (`GetAccountAuthorizationDetails`) or for one principal through its own reads.
//!
//! IAM returns policy documents URL-encoded (RFC 3986); they are decoded here, so everything
//! downstream sees the JSON text as it was written, and compares documents as parsed JSON.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, SummaryKeyType};
use std::fmt;

use iam_remediation::reads::{TagState, Tags, authorization_details};
use iam_remediation::{
    Error, Observed, Principal, PrincipalKind, Result, Scope, Subject, Survey, by_kind, call,
};

use crate::settings::{InlinePolicies, InlinePolicyAction};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// Path prefixes of the roles AWS itself owns (service-linked roles, IAM Identity Center's
/// reserved roles): never acted on.
pub const AWS_RESERVED_ROLE_PATHS: [&str; 2] = ["/aws-service-role/", "/aws-reserved/"];

/// IAM's default quota of managed policies attached to one user, group or role.
pub const DEFAULT_ATTACHED_POLICIES_QUOTA: usize = 10;

/// One inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct InlinePolicy {
    pub name: String,
    /// The document, URL-decoded: the JSON text a managed policy is created from.
    pub text: String,
    /// The document parsed, or why it could not be (never acted on then).
    pub document: std::result::Result<Value, String>,
}

impl InlinePolicy {
    /// An inline policy from the document IAM returned (URL-encoded).
    pub fn from_iam(name: impl Into<String>, raw_document: &str) -> Self {
        let name = name.into();
        match decode_document(raw_document) {
            Ok(text) => {
                let document = serde_json::from_str(&text)
                    .map_err(|e| format!("the document is not JSON: {e}"));
                Self {
                    name,
                    text,
                    document,
                }
            }
            Err(why) => Self {
                name,
                text: raw_document.to_owned(),
                document: Err(why),
            },
        }
    }
}

/// A user, group or role with what a conversion needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalPolicies {
    pub principal: Principal,
    pub arn: String,
    pub path: String,
    /// Its tags (IAM groups cannot carry tags: always empty for them).
    pub tags: Tags,
    /// ARNs of the managed policies attached to it.
    pub attached: Vec<String>,
    pub inline: Vec<InlinePolicy>,
}

impl PrincipalPolicies {
    /// True for a role AWS owns (path `/aws-service-role/` or `/aws-reserved/`).
    pub fn is_aws_reserved(&self) -> bool {
        self.principal.kind == PrincipalKind::Role && is_aws_reserved_path(&self.path)
    }
}

/// True when a role path is one of AWS's own.
pub fn is_aws_reserved_path(path: &str) -> bool {
    AWS_RESERVED_ROLE_PATHS
        .iter()
        .any(|reserved| path.starts_with(reserved))
}

/// The account's quotas of managed policies attached to one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentQuotas {
    pub user: usize,
    pub group: usize,
    pub role: usize,
}

impl Default for AttachmentQuotas {
    fn default() -> Self {
        Self {
            user: DEFAULT_ATTACHED_POLICIES_QUOTA,
            group: DEFAULT_ATTACHED_POLICIES_QUOTA,
            role: DEFAULT_ATTACHED_POLICIES_QUOTA,
        }
    }
}

impl AttachmentQuotas {
    /// The quota for one kind of principal.
    pub fn for_kind(&self, kind: PrincipalKind) -> usize {
        match kind {
            PrincipalKind::User => self.user,
            PrincipalKind::Group => self.group,
            PrincipalKind::Role => self.role,
        }
    }
}

/// Decodes a policy document as IAM returns it (URL-encoded, RFC 3986: `+` is not a space).
/// A document that is already JSON text (it starts with `{`, which an encoded one never does)
/// is returned as it is: some IAM implementations return some documents unencoded.
pub fn decode_document(raw: &str) -> std::result::Result<String, String> {
    if raw.trim_start().starts_with('{') {
        return Ok(raw.to_owned());
    }
    // A `%` not followed by two hex digits stands for itself.
    percent_decode_str(raw)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| format!("the document is not UTF-8 once decoded: {e}"))
}

fn attached(policies: Option<Vec<AttachedPolicy>>) -> Vec<String> {
    policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect()
}

fn inline(policies: Option<Vec<PolicyDetail>>) -> Vec<InlinePolicy> {
    policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(InlinePolicy::from_iam(
                p.policy_name?,
                p.policy_document.as_deref().unwrap_or_default(),
            ))
        })
        .collect()
}

/// Pushes onto `$principals` a [`PrincipalPolicies`] for each detail of `$details` (a page's
/// `UserDetailList`, `GroupDetailList` or `RoleDetailList`) that names its principal. The three
/// detail types hold the same fields, some under names of their own kind (`$name`, `$inline`);
/// `$tags` reads the tags of `$detail`.
macro_rules! push_details {
    (
        $principals:expr, $details:expr, $name:ident, $kind:ident, $inline:ident,
        |$detail:ident| $tags:expr
    ) => {
        for $detail in $details.unwrap_or_default() {
            let Some(name) = $detail.$name else { continue };
            $principals.push(PrincipalPolicies {
                principal: Principal {
                    kind: PrincipalKind::$kind,
                    name,
                },
                arn: $detail.arn.unwrap_or_default(),
                path: $detail.path.unwrap_or_default(),
                tags: $tags,
                attached: attached($detail.attached_managed_policies),
                inline: inline($detail.$inline),
            });
        }
    };
}

/// Every principal of the given kinds with its inline policies, tags and attached managed
/// policies: one `GetAccountAuthorizationDetails` call per 1,000 principals, whatever the number
/// of policies, instead of several listings per principal.
pub async fn account(iam: &Client, kinds: &[PrincipalKind]) -> Result<Vec<PrincipalPolicies>> {
    let filters: Vec<EntityType> = kinds
        .iter()
        .map(|kind| match kind {
            PrincipalKind::User => EntityType::User,
            PrincipalKind::Group => EntityType::Group,
            PrincipalKind::Role => EntityType::Role,
        })
        .collect();
    // Without a filter the call returns every kind of entity: ask for nothing instead.
    if filters.is_empty() {
        return Ok(Vec::new());
    }
    let mut principals = Vec::new();
    authorization_details(iam, filters, |page| {
        push_details!(
            principals,
            page.user_detail_list,
            user_name,
            User,
            user_policy_list,
            |user| Tags::from(user.tags)
        );
        // IAM groups carry no tags.
        push_details!(
            principals,
            page.group_detail_list,
            group_name,
            Group,
            group_policy_list,
            |_group| Tags::default()
        );
        push_details!(
            principals,
            page.role_detail_list,
            role_name,
            Role,
            role_policy_list,
            |role| Tags::from(role.tags)
        );
    })
    .await?;
    Ok(principals)
}

/// Maps "no such principal" to [`Error::NotFound`].
fn principal_error(principal: &Principal, error: Error) -> Error {
    error.or_not_found(principal.kind.as_str(), &principal.name)
}

/// One principal read live: its ARN, path and tags, its attached managed policies, and its
/// inline policies (only `only` when given: a policy that no longer exists is left out).
/// A principal that does not exist is [`Error::NotFound`].
pub async fn principal(
    iam: &Client,
    principal: &Principal,
    only: Option<&str>,
) -> Result<PrincipalPolicies> {
    let (arn, path, tags) = identity(iam, principal)
        .await
        .map_err(|e| principal_error(principal, e))?;
    let names = match only {
        Some(name) => vec![name.to_owned()],
        None => inline_policy_names(iam, principal)
            .await
            .map_err(|e| principal_error(principal, e))?,
    };
    let mut inline = Vec::with_capacity(names.len());
    for name in names {
        match inline_policy(iam, principal, &name).await {
            Ok(policy) => inline.push(policy),
            // Deleted since it was listed (or named by the event): nothing left to fix.
            Err(error) if error.is_no_such_entity() => {}
            Err(error) => return Err(error),
        }
    }
    let attached = attached_policies(iam, principal)
        .await
        .map_err(|e| principal_error(principal, e))?;
    Ok(PrincipalPolicies {
        principal: principal.clone(),
        arn,
        path,
        tags,
        attached,
        inline,
    })
}

/// ARN, path and tags of one principal (`GetUser` / `GetGroup` / `GetRole`).
async fn identity(iam: &Client, principal: &Principal) -> Result<(String, String, Tags)> {
    let name = &principal.name;
    match principal.kind {
        PrincipalKind::User => {
            let output = call("GetUser", iam.get_user().user_name(name).send()).await?;
            let user = output.user.ok_or_else(|| missing(principal))?;
            Ok((user.arn, user.path, Tags::from(user.tags)))
        }
        PrincipalKind::Group => {
            // Only the group itself is needed, not its members.
            let request = iam.get_group().group_name(name).max_items(1);
            let group = call("GetGroup", request.send()).await?.group;
            let group = group.ok_or_else(|| missing(principal))?;
            Ok((group.arn, group.path, Tags::default()))
        }
        PrincipalKind::Role => {
            let output = call("GetRole", iam.get_role().role_name(name).send()).await?;
            let role = output.role.ok_or_else(|| missing(principal))?;
            Ok((role.arn, role.path, Tags::from(role.tags)))
        }
    }
}

fn missing(principal: &Principal) -> Error {
    Error::NotFound {
        kind: principal.kind.as_str(),
        name: principal.name.clone(),
    }
}

/// The names of a principal's inline policies (`List{User,Group,Role}Policies`, every page).
async fn inline_policy_names(iam: &Client, principal: &Principal) -> Result<Vec<String>> {
    by_kind!(
        principal,
        iam,
        [list_user_policies, list_group_policies, list_role_policies],
        |request, operation| call(
            operation,
            request.into_paginator().items().send().try_collect()
        )
        .await
    )
}

/// One inline policy, live (`Get{User,Group,Role}Policy`). One that does not exist is an AWS
/// `NoSuchEntity` error.
pub async fn inline_policy(
    iam: &Client,
    principal: &Principal,
    policy_name: &str,
) -> Result<InlinePolicy> {
    let raw = by_kind!(
        principal,
        iam,
        [get_user_policy, get_group_policy, get_role_policy],
        |request, operation| call(operation, request.policy_name(policy_name).send())
            .await?
            .policy_document
    );
    Ok(InlinePolicy::from_iam(policy_name, &raw))
}

/// ARNs of the managed policies attached to a principal (`ListAttached{User,Group,Role}Policies`,
/// every page).
pub async fn attached_policies(iam: &Client, principal: &Principal) -> Result<Vec<String>> {
    let policies = by_kind!(
        principal,
        iam,
        [
            list_attached_user_policies,
            list_attached_group_policies,
            list_attached_role_policies
        ],
        |request, operation| call(
            operation,
            request.into_paginator().items().send().try_collect()
        )
        .await
    )?;
    Ok(attached(Some(policies)))
}

/// The account's attached-managed-policy quotas (`GetAccountSummary`); a quota the summary does
/// not state is IAM's default.
pub async fn attachment_quotas(iam: &Client) -> Result<AttachmentQuotas> {
    let summary = call("GetAccountSummary", iam.get_account_summary().send())
        .await?
        .summary_map
        .unwrap_or_default();
    let quota = |key: SummaryKeyType| {
        summary
            .get(&key)
            .and_then(|value| usize::try_from(*value).ok())
            .unwrap_or(DEFAULT_ATTACHED_POLICIES_QUOTA)
    };
    Ok(AttachmentQuotas {
        user: quota(SummaryKeyType::AttachedPoliciesPerUserQuota),
        group: quota(SummaryKeyType::AttachedPoliciesPerGroupQuota),
        role: quota(SummaryKeyType::AttachedPoliciesPerRoleQuota),
    })
}

/// The default version's document of a managed policy, parsed (`None` when it is not
/// readable JSON). A policy that does not exist is an AWS `NoSuchEntity` error.
pub async fn managed_policy_document(iam: &Client, arn: &str) -> Result<Option<Value>> {
    let policy = call("GetPolicy", iam.get_policy().policy_arn(arn).send()).await?;
    let Some(version) = policy.policy.and_then(|p| p.default_version_id) else {
        return Ok(None);
    };
    let request = iam.get_policy_version().policy_arn(arn).version_id(version);
    let raw = call("GetPolicyVersion", request.send())
        .await?
        .policy_version
        .and_then(|v| v.document);
    Ok(raw
        .and_then(|raw| decode_document(&raw).ok())
        .and_then(|text| serde_json::from_str(&text).ok()))
}

/// Where a read starts: a principal (all its inline policies, or one), or one a sweep already
/// read whole; with the account's attachment quotas when converting (the survey reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub principal: Principal,
    /// Only this policy (a CloudTrail call named it).
    pub only: Option<String>,
    /// Already read (a sweep's `GetAccountAuthorizationDetails`).
    pub known: Option<PrincipalPolicies>,
    pub quotas: AttachmentQuotas,
}

impl Lead {
    /// All the inline policies of `principal`.
    pub fn whole(principal: Principal) -> Self {
        Self {
            principal,
            only: None,
            known: None,
            quotas: AttachmentQuotas::default(),
        }
    }

    /// One inline policy of `principal` (a CloudTrail call named it).
    pub fn one_policy(principal: Principal, policy_name: String) -> Self {
        Self {
            only: Some(policy_name),
            ..Self::whole(principal)
        }
    }
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.principal.fmt(f)
    }
}

/// One principal's inline policies, with the account's quotas for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub policies: PrincipalPolicies,
    pub quotas: AttachmentQuotas,
}

/// The leads of a scope, with the account's attachment quotas (read only to convert, and
/// only when there is something to convert).
pub async fn survey(
    iam: &Client,
    function: &InlinePolicies,
    scope: Scope<Lead>,
) -> Result<Survey<Lead>> {
    let converting = function.action == InlinePolicyAction::Convert;
    // The quotas matter only to conversions.
    let quotas = async {
        if converting {
            attachment_quotas(iam).await
        } else {
            Ok(AttachmentQuotas::default())
        }
    };
    Ok(match scope {
        Scope::Sweep => {
            let all = account(iam, &function.principals).await?;
            let examined = all.len();
            let mut with_inline: Vec<PrincipalPolicies> = Vec::new();
            for principal in all.into_iter().filter(|p| !p.inline.is_empty()) {
                if principal.is_aws_reserved() {
                    tracing::info!(principal = %principal.principal, path = %principal.path, "role owned by AWS: left alone");
                } else {
                    with_inline.push(principal);
                }
            }
            // The quotas are read only when there is something to convert.
            let quotas = if with_inline.is_empty() {
                AttachmentQuotas::default()
            } else {
                quotas.await?
            };
            Survey {
                leads: with_inline
                    .into_iter()
                    .map(|known| Lead {
                        principal: known.principal.clone(),
                        only: None,
                        known: Some(known),
                        quotas,
                    })
                    .collect(),
                examined,
                notes: Vec::new(),
            }
        }
        Scope::Subjects(subjects) => {
            let quotas = quotas.await?;
            Survey::of(
                subjects
                    .into_iter()
                    .filter_map(|subject| match subject {
                        Subject::Principal(principal) => Some(Lead {
                            quotas,
                            ..Lead::whole(principal)
                        }),
                        Subject::Account | Subject::RootUser => None,
                    })
                    .collect(),
            )
        }
        Scope::Leads(leads) | Scope::Urgent(leads) => {
            let quotas = quotas.await?;
            Survey::of(
                leads
                    .into_iter()
                    .map(|lead| Lead { quotas, ..lead })
                    .collect(),
            )
        }
    })
}

/// Reads one lead live (or takes what a sweep already read whole).
pub async fn read(iam: &Client, lead: Lead) -> Result<Observed<Facts>> {
    let policies = match lead.known {
        Some(known) => known,
        None => principal(iam, &lead.principal, lead.only.as_deref()).await?,
    };
    let tags = match policies.principal.kind {
        PrincipalKind::Group => TagState::Untaggable,
        PrincipalKind::User | PrincipalKind::Role => TagState::Known(policies.tags.clone()),
    };
    Ok(Observed {
        subject: policies.principal.clone().into(),
        tags,
        judged_whole: lead.only.is_none(),
        facts: Facts {
            policies,
            quotas: lead.quotas,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::operation::get_user::GetUserOutput;
    use aws_sdk_iam::operation::get_user_policy::GetUserPolicyOutput;
    use aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput;
    use aws_sdk_iam::operation::list_user_policies::ListUserPoliciesOutput;
    use aws_sdk_iam::types::{GroupDetail, RoleDetail, Tag, User, UserDetail};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use iam_remediation::testing::iam_error;
    use serde_json::json;

    const ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2Fa%20b+c%25%22%7D%5D%7D";

    fn expected_document() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a b+c%"}]})
    }

    fn no_such_entity() -> aws_smithy_runtime_api::http::Response {
        iam_error(404, "NoSuchEntity")
    }

    #[test]
    fn documents_are_url_decoded_per_rfc_3986() {
        let text = decode_document(ENCODED).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            expected_document()
        );
        // `+` stays a plus sign, and `%` not followed by two hex digits stands for itself.
        assert_eq!(decode_document("a+b%2").unwrap(), "a+b%2");
        assert_eq!(decode_document("%E2%9C%93").unwrap(), "\u{2713}");
        assert!(decode_document("%FF%FE").is_err());
        // Already JSON: returned as it is, even with `%41` inside.
        assert_eq!(
            decode_document(r#"{"a": "%41"}"#).unwrap(),
            r#"{"a": "%41"}"#
        );
    }

    #[test]
    fn unreadable_documents_are_kept_with_the_reason() {
        let policy = InlinePolicy::from_iam("p", "%7Bnot%20json");
        assert_eq!(policy.text, "{not json");
        assert!(policy.document.unwrap_err().contains("not JSON"));
        let policy = InlinePolicy::from_iam("p", ENCODED);
        assert_eq!(policy.document.unwrap(), expected_document());
    }

    #[test]
    fn reserved_role_paths() {
        assert!(is_aws_reserved_path(
            "/aws-service-role/config.amazonaws.com/"
        ));
        assert!(is_aws_reserved_path("/aws-reserved/sso.amazonaws.com/"));
        assert!(!is_aws_reserved_path("/"));
        assert!(!is_aws_reserved_path("/service-role/"));
        assert!(!is_aws_reserved_path("/team/aws-service-role/"));
    }

    fn detail(name: &str) -> PolicyDetail {
        PolicyDetail::builder()
            .policy_name(name)
            .policy_document(ENCODED)
            .build()
    }

    #[tokio::test]
    async fn the_account_is_read_page_by_page_with_documents_decoded() {
        let pages = mock!(Client::get_account_authorization_details)
            .sequence()
            .output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .user_detail_list(
                        UserDetail::builder()
                            .user_name("alice")
                            .arn("arn:aws:iam::123456789012:user/alice")
                            .path("/")
                            .user_policy_list(detail("s3"))
                            .tags(Tag::builder().key("team").value("x").build().unwrap())
                            .attached_managed_policies(
                                AttachedPolicy::builder().policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess").build(),
                            )
                            .build(),
                    )
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            })
            .output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .group_detail_list(GroupDetail::builder().group_name("admins").arn("arn:aws:iam::123456789012:group/admins").path("/").group_policy_list(detail("g")).build())
                    .role_detail_list(
                        RoleDetail::builder()
                            .role_name("AWSServiceRoleForConfig")
                            .arn("arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
                            .path("/aws-service-role/config.amazonaws.com/")
                            .build(),
                    )
                    .is_truncated(false)
                    .build()
            })
            .build();
        let iam = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&pages]);
        let principals = account(
            &iam,
            &[
                PrincipalKind::User,
                PrincipalKind::Group,
                PrincipalKind::Role,
            ],
        )
        .await
        .unwrap();
        assert_eq!(pages.num_calls(), 2);
        assert_eq!(principals.len(), 3);
        let alice = &principals[0];
        assert_eq!(alice.principal, Principal::user("alice"));
        assert_eq!(
            alice.inline[0].document.as_ref().unwrap(),
            &expected_document()
        );
        assert_eq!(
            alice.tags,
            Tags::new(vec![("team".to_owned(), "x".to_owned())])
        );
        assert_eq!(
            alice.attached,
            vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()]
        );
        assert_eq!(principals[1].principal, Principal::group("admins"));
        assert!(!principals[1].is_aws_reserved());
        assert!(principals[2].is_aws_reserved());
    }

    #[tokio::test]
    async fn no_kinds_means_no_call() {
        let pages = mock!(Client::get_account_authorization_details)
            .then_output(|| GetAccountAuthorizationDetailsOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, [&pages]);
        assert!(account(&iam, &[]).await.unwrap().is_empty());
        assert_eq!(pages.num_calls(), 0);
    }

    fn alice() -> User {
        User::builder()
            .user_name("alice")
            .user_id("AIDA1")
            .arn("arn:aws:iam::123456789012:user/alice")
            .path("/")
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .tags(
                Tag::builder()
                    .key("iam-remediation:exempt")
                    .value("true")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn one_principal_is_read_live_and_a_policy_gone_meanwhile_is_left_out() {
        let get_user =
            mock!(Client::get_user).then_output(|| GetUserOutput::builder().user(alice()).build());
        let list = mock!(Client::list_user_policies).then_output(|| {
            ListUserPoliciesOutput::builder()
                .policy_names("s3")
                .policy_names("gone")
                .is_truncated(false)
                .build()
                .unwrap()
        });
        let policy = |name: &'static str| {
            mock!(Client::get_user_policy).match_requests(move |r| r.policy_name() == Some(name))
        };
        let s3 = policy("s3").then_output(|| {
            GetUserPolicyOutput::builder()
                .user_name("alice")
                .policy_name("s3")
                .policy_document(ENCODED)
                .build()
                .unwrap()
        });
        let gone = policy("gone").then_http_response(no_such_entity);
        let attached = mock!(Client::list_attached_user_policies).then_output(|| {
            ListAttachedUserPoliciesOutput::builder()
                .is_truncated(false)
                .build()
        });
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &list, &s3, &gone, &attached]
        );
        let alice = principal(&iam, &Principal::user("alice"), None)
            .await
            .unwrap();
        assert_eq!(alice.inline.len(), 1);
        assert_eq!(alice.inline[0].name, "s3");
        assert_eq!(
            alice.tags,
            Tags::new(vec![(
                "iam-remediation:exempt".to_owned(),
                "true".to_owned()
            )])
        );
        assert!(alice.attached.is_empty());
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_principal_is_not_found() {
        let get_user = mock!(Client::get_user).then_http_response(no_such_entity);
        let iam = mock_client!(aws_sdk_iam, [&get_user]);
        let err = principal(&iam, &Principal::user("ghost"), Some("p"))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "user ghost does not exist");
    }

    #[tokio::test]
    async fn quotas_come_from_the_account_summary() {
        use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
        let summary = mock!(Client::get_account_summary).then_output(|| {
            GetAccountSummaryOutput::builder()
                .summary_map(SummaryKeyType::AttachedPoliciesPerUserQuota, 20)
                .summary_map(SummaryKeyType::AttachedPoliciesPerRoleQuota, 15)
                .build()
        });
        let iam = mock_client!(aws_sdk_iam, [&summary]);
        let quotas = attachment_quotas(&iam).await.unwrap();
        assert_eq!(
            quotas,
            AttachmentQuotas {
                user: 20,
                group: 10,
                role: 15
            }
        );
        assert_eq!(quotas.for_kind(PrincipalKind::Role), 15);
    }
}
