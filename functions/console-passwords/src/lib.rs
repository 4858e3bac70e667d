//! `console-passwords`: Deletes IAM console passwords (login profiles) that are not used. (Under construction.)
