//! Review-comment signals and pull-request analysis (SPEC §2, §3).
