//! Repository practice detectors (SPEC §3), driven by `config/practices.toml`.
//! (Interface only on main until the detectors branch lands; replaced by it.)

use crate::model::PracticeFinding;
use crate::snapshot::RepoSnapshot;

pub struct PracticeTable;

#[derive(Debug, Default, serde::Deserialize)]
pub struct PracticeExtension;

impl PracticeTable {
    pub fn builtin() -> PracticeTable {
        PracticeTable
    }
    pub fn extend(&mut self, _extra: &PracticeExtension) -> Result<(), String> {
        Ok(())
    }
}

pub fn analyze_repo(_snapshot: &RepoSnapshot, _table: &PracticeTable) -> Vec<PracticeFinding> {
    Vec::new()
}

pub fn is_wanted_path(_path: &str) -> bool {
    true
}
