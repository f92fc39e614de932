//! Repository practice detectors (SPEC §3), driven by `config/practices.toml`.
