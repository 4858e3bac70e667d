//! Apply: the changes themselves, each made on one thing by its ID after the live re-check.

pub mod access_keys;
pub mod inline_policies;
pub mod login_profiles;
pub mod password_policy;
pub mod rotation;
