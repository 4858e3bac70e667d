//! `inline-policies`: Turns IAM inline policies into customer managed policies, or deletes them. (Under construction.)
