//! Criteria and levels from the rubric (`config/rubric.toml`).
