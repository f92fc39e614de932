//! Pure analysis over snapshots: no I/O, no clock. The same code serves the GitHub service,
//! `folio evaluate` and `folio scan`.

pub mod practices;
pub mod python_tests;
pub mod review;
