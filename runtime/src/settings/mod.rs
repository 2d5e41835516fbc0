//! Settings: what the operator wrote (the config file and its flags), what a plugin's manifest
//! asks for, and the limits both are checked against. Plain data, parsed and validated here.
pub mod auth;
pub mod config;
pub mod grants;
pub mod limits;
pub mod manifest;
