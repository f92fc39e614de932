//! Helpers shared by the integration tests (`mod support;`). Each test binary uses a different
//! part of them, so unused items are expected here.
#![allow(dead_code, unused_imports)]

pub mod fake_github;
pub mod webhook;
