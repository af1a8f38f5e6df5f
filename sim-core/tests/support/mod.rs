//! Shared by the integration tests.

pub mod info_heavy;
