//! Apply: the changes themselves, each made on one thing by its ID after the live re-check.

pub mod access_keys;
