//! Settings: what the operator wrote (the config file and its flags), what a plugin's manifest
//! asks for, and the limits both are checked against. Plain data, parsed and validated here;
//! the files it comes from read without blocking on whatever sits under their name (`file`).
pub mod auth;
pub mod config;
pub mod file;
pub mod file_config;
pub mod grants;
pub mod limits;
pub mod manifest;
pub mod thresholds;
