//! `password-policy`: Keeps the account password policy at least as strict as a configured floor. (Under construction.)
