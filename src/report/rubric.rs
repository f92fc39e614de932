//! The rubric: per criterion, the rules for `strong` and `some`, the words for `none` and
//! `not_assessed`, and the practice ids that feed it. The data lives in `config/rubric.toml`,
//! embedded in the binary; an organisation may change thresholds in `.github/folio.yml`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Criterion, Level};

const BUILTIN_TOML: &str = include_str!("../../config/rubric.toml");

/// Metrics that every criterion with practices can use.
const PRACTICE_METRICS: &[&str] = &[
    "practice_points",
    "credited_practices",
    "exercised_practices",
];

/// Metrics computed from pull requests and reviews, per criterion. Tone is deliberately not
/// among them: it is context only and must never feed a level.
fn extra_metrics(criterion: Criterion) -> &'static [&'static str] {
    match criterion {
        Criterion::CodeReview => &[
            "reviews",
            "assessed_comments",
            "useful_comments",
            "led_to_change",
            "substantive_kinds",
            "review_responses",
        ],
        Criterion::Testing => &["prs_with_tests", "prs_with_property_tests"],
        Criterion::CiCd => &["prs_checks_passed"],
        Criterion::StaticChecks | Criterion::ReleaseEngineering | Criterion::SupplyChain => &[],
    }
}

/// The metric names a criterion's rules may use.
pub fn metrics_of(criterion: Criterion) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    if criterion != Criterion::CodeReview {
        out.extend_from_slice(PRACTICE_METRICS);
    }
    out.extend_from_slice(extra_metrics(criterion));
    out
}

fn criterion_from_str(s: &str) -> Option<Criterion> {
    Criterion::ALL.into_iter().find(|c| c.as_str() == s)
}

/// The rubric file or an override is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RubricError {
    #[error("the rubric file is not valid: {0}")]
    Parse(String),
    #[error("rubric: {key}: {problem}")]
    Invalid { key: String, problem: String },
}

impl RubricError {
    fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// The dotted key the problem is about, when there is one (`testing.strong.foo`).
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Parse(_) => None,
            Self::Invalid { key, .. } => Some(key),
        }
    }
}

/// Points per credited practice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub exercised: f64,
    pub present: f64,
}

/// One way of reaching a level: every condition must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Why the level is given when this rule holds, in a reviewer's words.
    pub because: String,
    /// Practice ids that must be present with credited attribution.
    #[serde(default)]
    pub require: Vec<String>,
    /// The smallest value of each metric.
    #[serde(default)]
    pub at_least: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionRules {
    /// The practice ids that feed this criterion, from `config/practices.toml` (the one place
    /// a practice is declared); a rubric file may not list them.
    #[serde(skip_deserializing, default)]
    pub practices: Vec<String>,
    pub not_assessed: String,
    pub none: String,
    /// Alternatives: the level is reached when any of them holds.
    pub strong: Vec<Rule>,
    pub some: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RubricFile {
    version: String,
    weights: Weights,
    metrics: BTreeMap<String, String>,
    criteria: BTreeMap<String, CriterionRules>,
}

/// The level rules for all six criteria.
#[derive(Debug, Clone, PartialEq)]
pub struct Rubric {
    version: String,
    weights: Weights,
    metric_labels: BTreeMap<String, String>,
    criteria: BTreeMap<Criterion, CriterionRules>,
}

static BUILTIN: LazyLock<Result<Rubric, RubricError>> =
    LazyLock::new(|| Rubric::from_toml(BUILTIN_TOML));

/// The criterion a practice id feeds, from the built-in rubric. Overrides
/// change thresholds only, never this mapping.
pub fn criterion_of(practice_id: &str) -> Option<Criterion> {
    BUILTIN
        .as_ref()
        .ok()
        .and_then(|r| r.criterion_of(practice_id))
}

/// Every practice id the built-in rubric knows, in criterion order.
pub fn known_practice_ids() -> Vec<String> {
    match BUILTIN.as_ref() {
        Ok(r) => r.practice_ids(),
        Err(_) => Vec::new(),
    }
}

impl Rubric {
    /// The rubric embedded from `config/rubric.toml`. It is checked by a unit test, so an error
    /// here means a broken build rather than bad input.
    pub fn builtin() -> Result<Rubric, RubricError> {
        BUILTIN.clone()
    }

    /// Parses and checks a rubric file: every criterion present once, every metric known for
    /// its criterion, every practice id feeding exactly one criterion.
    pub fn from_toml(text: &str) -> Result<Rubric, RubricError> {
        let file: RubricFile =
            toml::from_str(text).map_err(|e| RubricError::Parse(e.to_string()))?;
        if file.version.trim().is_empty() {
            return Err(RubricError::invalid("version", "must not be empty"));
        }
        for (name, w) in [
            ("weights.exercised", file.weights.exercised),
            ("weights.present", file.weights.present),
        ] {
            if !w.is_finite() || w < 0.0 {
                return Err(RubricError::invalid(name, "must be a number of 0 or more"));
            }
        }
        let mut criteria = BTreeMap::new();
        for (key, mut rules) in file.criteria {
            let criterion = criterion_from_str(&key).ok_or_else(|| {
                RubricError::invalid(
                    format!("criteria.{key}"),
                    format!("unknown criterion; it may be one of {}", criteria_list()),
                )
            })?;
            rules.practices = crate::catalogue::ids_of(criterion);
            let allowed = metrics_of(criterion);
            for (level, list) in [("strong", &rules.strong), ("some", &rules.some)] {
                for rule in list {
                    for m in rule.at_least.keys() {
                        if !allowed.contains(&m.as_str()) {
                            return Err(RubricError::invalid(
                                format!("criteria.{key}.{level}.at_least.{m}"),
                                format!("unknown metric; it may be one of {}", allowed.join(", ")),
                            ));
                        }
                        if !file.metrics.contains_key(m) {
                            return Err(RubricError::invalid(
                                format!("metrics.{m}"),
                                "the metric has no description",
                            ));
                        }
                    }
                    for p in &rule.require {
                        if !rules.practices.contains(p) {
                            return Err(RubricError::invalid(
                                format!("criteria.{key}.{level}.require"),
                                format!("`{p}` is not one of this criterion's practices"),
                            ));
                        }
                    }
                }
            }
            criteria.insert(criterion, rules);
        }
        if let Some(missing) = Criterion::ALL
            .into_iter()
            .find(|c| !criteria.contains_key(c))
        {
            return Err(RubricError::invalid(
                format!("criteria.{}", missing.as_str()),
                "missing",
            ));
        }
        for (key, rules) in &criteria {
            let texts = std::iter::once(("none", &rules.none))
                .chain(std::iter::once(("not_assessed", &rules.not_assessed)))
                .chain(rules.strong.iter().map(|r| ("strong.because", &r.because)))
                .chain(rules.some.iter().map(|r| ("some.because", &r.because)));
            for (field, text) in texts {
                // The comment's summary table shows the first sentence of a reason, so each
                // of these must be exactly one sentence.
                if text.trim().is_empty() || text.trim_end_matches('.').contains(". ") {
                    return Err(RubricError::invalid(
                        format!("criteria.{}.{field}", key.as_str()),
                        "must be one non-empty sentence",
                    ));
                }
            }
        }
        let rubric = Rubric {
            version: file.version,
            weights: file.weights,
            metric_labels: file.metrics,
            criteria,
        };
        rubric.check_thresholds()?;
        Ok(rubric)
    }

    fn check_thresholds(&self) -> Result<(), RubricError> {
        for (c, rules) in &self.criteria {
            for (level, list) in [("strong", &rules.strong), ("some", &rules.some)] {
                if list.is_empty() {
                    return Err(RubricError::invalid(
                        format!("{}.{level}", c.as_str()),
                        "needs at least one rule",
                    ));
                }
                for rule in list {
                    if rule.at_least.is_empty() && rule.require.is_empty() {
                        // A rule with no condition would give the level to anyone.
                        return Err(RubricError::invalid(
                            format!("{}.{level}", c.as_str()),
                            "a rule needs at least one condition",
                        ));
                    }
                    for (m, v) in &rule.at_least {
                        check_threshold(*c, level, m, *v)?;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn weights(&self) -> Weights {
        self.weights
    }

    pub fn rules(&self, criterion: Criterion) -> Option<&CriterionRules> {
        self.criteria.get(&criterion)
    }

    /// The reviewer-facing description of a metric.
    pub fn metric_label<'a>(&'a self, metric: &'a str) -> &'a str {
        self.metric_labels
            .get(metric)
            .map(String::as_str)
            .unwrap_or(metric)
    }

    pub fn criterion_of(&self, practice_id: &str) -> Option<Criterion> {
        self.criteria
            .iter()
            .find(|(_, r)| r.practices.iter().any(|p| p == practice_id))
            .map(|(c, _)| *c)
    }

    /// Practice ids in criterion order, then in the order the rubric lists them.
    pub fn practice_ids(&self) -> Vec<String> {
        Criterion::ALL
            .into_iter()
            .filter_map(|c| self.criteria.get(&c))
            .flat_map(|r| r.practices.iter().cloned())
            .collect()
    }

    /// Applies an organisation's thresholds. A metric set for a level replaces that metric's
    /// threshold in every rule of the level that uses it; when no rule of the level uses it,
    /// every rule of the level gains it as a further condition. The version gains `+org` so
    /// that a report says its levels were not computed with the stock rubric.
    pub fn with_overrides(&self, overrides: &RubricOverrides) -> Result<Rubric, RubricError> {
        let mut out = self.clone();
        let mut changed = false;
        for (criterion, levels) in overrides.entries() {
            let Some(rules) = out.criteria.get_mut(&criterion) else {
                continue;
            };
            let allowed = metrics_of(criterion);
            for (level, thresholds) in [("strong", &levels.strong), ("some", &levels.some)] {
                let Some(thresholds) = thresholds else {
                    continue;
                };
                let list = if level == "strong" {
                    &mut rules.strong
                } else {
                    &mut rules.some
                };
                for (metric, value) in thresholds {
                    let key = format!("{}.{level}.{metric}", criterion.as_str());
                    if !allowed.contains(&metric.as_str()) {
                        return Err(RubricError::invalid(
                            key,
                            format!(
                                "unknown metric for {}; it may be one of {}",
                                criterion.as_str(),
                                allowed.join(", ")
                            ),
                        ));
                    }
                    check_threshold(criterion, level, metric, *value)?;
                    let used = list.iter().any(|r| r.at_least.contains_key(metric));
                    for rule in list.iter_mut() {
                        if !used || rule.at_least.contains_key(metric) {
                            rule.at_least.insert(metric.clone(), *value);
                        }
                    }
                    changed = true;
                }
            }
        }
        if changed {
            out.version = format!("{}+org", self.version);
        }
        Ok(out)
    }

    /// Decides one criterion's level from its facts.
    pub fn level(&self, criterion: Criterion, facts: &CriterionFacts) -> Decision {
        let Some(rules) = self.criteria.get(&criterion) else {
            return Decision {
                level: Level::NotAssessed,
                rule: None,
            };
        };
        if !facts.assessable {
            return Decision {
                level: Level::NotAssessed,
                rule: None,
            };
        }
        for (level, list) in [(Level::Strong, &rules.strong), (Level::Some, &rules.some)] {
            if let Some(rule) = list.iter().find(|r| rule_holds(r, facts)) {
                return Decision {
                    level,
                    rule: Some(rule.clone()),
                };
            }
        }
        Decision {
            level: Level::None,
            rule: None,
        }
    }
}

fn check_threshold(c: Criterion, level: &str, metric: &str, v: f64) -> Result<(), RubricError> {
    let key = format!("{}.{level}.{metric}", c.as_str());
    if !v.is_finite() || v < 0.0 {
        return Err(RubricError::invalid(key, "must be a number of 0 or more"));
    }
    Ok(())
}

fn criteria_list() -> String {
    Criterion::ALL.map(|c| c.as_str()).join(", ")
}

fn rule_holds(rule: &Rule, facts: &CriterionFacts) -> bool {
    rule.require.iter().all(|p| facts.credited.contains(p))
        && rule.at_least.iter().all(|(m, min)| facts.metric(m) >= *min)
}

/// What a criterion's level is decided from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriterionFacts {
    /// Whether there was anything to look at. Without it the level is `not_assessed`.
    pub assessable: bool,
    pub metrics: BTreeMap<&'static str, f64>,
    /// Practice ids of this criterion present with credited attribution.
    pub credited: BTreeSet<String>,
}

impl CriterionFacts {
    pub fn metric(&self, name: &str) -> f64 {
        self.metrics.get(name).copied().unwrap_or(0.0)
    }
}

/// The level, and the rule that gave it (none for `none` and `not_assessed`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub level: Level,
    pub rule: Option<Rule>,
}

/// Thresholds per level, as `.github/folio.yml` gives them: `metric: minimum`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelOverrides {
    #[serde(default)]
    pub strong: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub some: Option<BTreeMap<String, f64>>,
}

/// The `rubric:` section of `.github/folio.yml`: one optional entry per criterion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricOverrides {
    #[serde(default)]
    pub code_review: Option<LevelOverrides>,
    #[serde(default)]
    pub testing: Option<LevelOverrides>,
    #[serde(default)]
    pub static_checks: Option<LevelOverrides>,
    #[serde(default)]
    pub ci_cd: Option<LevelOverrides>,
    #[serde(default)]
    pub release_engineering: Option<LevelOverrides>,
    #[serde(default)]
    pub supply_chain: Option<LevelOverrides>,
}

impl RubricOverrides {
    fn entries(&self) -> Vec<(Criterion, &LevelOverrides)> {
        [
            (Criterion::CodeReview, &self.code_review),
            (Criterion::Testing, &self.testing),
            (Criterion::StaticChecks, &self.static_checks),
            (Criterion::CiCd, &self.ci_cd),
            (Criterion::ReleaseEngineering, &self.release_engineering),
            (Criterion::SupplyChain, &self.supply_chain),
        ]
        .into_iter()
        .filter_map(|(c, o)| o.as_ref().map(|o| (c, o)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_TABLE: &[(&str, Criterion)] = &[
        ("lint", Criterion::StaticChecks),
        ("format_check", Criterion::StaticChecks),
        ("type_check", Criterion::StaticChecks),
        ("pre_commit", Criterion::StaticChecks),
        ("sast", Criterion::StaticChecks),
        ("tests_in_ci", Criterion::Testing),
        ("property_based_tests", Criterion::Testing),
        ("coverage_gate", Criterion::Testing),
        ("mutation_testing", Criterion::Testing),
        ("matrix_build", Criterion::CiCd),
        ("ci_cache", Criterion::CiCd),
        ("least_privilege_token", Criterion::CiCd),
        ("actions_pinned_by_sha", Criterion::SupplyChain),
        ("lockfile", Criterion::SupplyChain),
        ("dependency_update_bot", Criterion::SupplyChain),
        ("dependency_vuln_scan", Criterion::SupplyChain),
        ("sbom", Criterion::SupplyChain),
        ("signing", Criterion::SupplyChain),
        ("security_policy", Criterion::SupplyChain),
        ("trusted_publishing", Criterion::ReleaseEngineering),
        ("release_automation", Criterion::ReleaseEngineering),
        ("changelog", Criterion::ReleaseEngineering),
        ("semver_tags", Criterion::ReleaseEngineering),
        ("release_notes", Criterion::ReleaseEngineering),
    ];

    fn builtin() -> Rubric {
        Rubric::builtin().expect("embedded rubric parses")
    }

    #[test]
    fn embedded_rubric_parses_and_matches_the_spec_table() {
        let r = builtin();
        assert!(!r.version().is_empty());
        for (id, c) in SPEC_TABLE {
            assert_eq!(r.criterion_of(id), Some(*c), "{id}");
        }
        assert_eq!(r.practice_ids().len(), SPEC_TABLE.len());
        assert_eq!(criterion_of("lint"), Some(Criterion::StaticChecks));
        assert_eq!(criterion_of("nope"), None);
    }

    #[test]
    fn tone_is_no_metric() {
        for c in Criterion::ALL {
            assert!(metrics_of(c).iter().all(|m| !m.contains("tone")));
        }
    }

    #[test]
    fn levels_follow_the_rules() {
        let r = builtin();
        let mut f = CriterionFacts {
            assessable: true,
            ..Default::default()
        };
        assert_eq!(r.level(Criterion::Testing, &f).level, Level::None);
        f.metrics.insert("prs_with_tests", 1.0);
        let d = r.level(Criterion::Testing, &f);
        assert_eq!(d.level, Level::Some);
        assert!(d.rule.is_some());
        f.metrics.insert("credited_practices", 2.0);
        f.metrics.insert("exercised_practices", 2.0);
        // Counts alone are not enough: tests must run in CI in credited work.
        assert_eq!(r.level(Criterion::Testing, &f).level, Level::Some);
        f.credited.insert("tests_in_ci".into());
        assert_eq!(r.level(Criterion::Testing, &f).level, Level::Strong);
        f.assessable = false;
        assert_eq!(r.level(Criterion::Testing, &f).level, Level::NotAssessed);
    }

    #[test]
    fn overrides_replace_thresholds_and_mark_the_version() {
        let r = builtin();
        let o = RubricOverrides {
            code_review: Some(LevelOverrides {
                strong: Some(BTreeMap::from([("useful_comments".to_string(), 9.0)])),
                some: None,
            }),
            ..Default::default()
        };
        let r2 = r.with_overrides(&o).expect("valid override");
        assert_eq!(r2.version(), format!("{}+org", r.version()));
        let strong = &r2.rules(Criterion::CodeReview).expect("rules").strong;
        assert!(strong.iter().all(|x| x.at_least["useful_comments"] == 9.0));
        // Untouched when nothing is overridden.
        let same = r.with_overrides(&RubricOverrides::default()).expect("ok");
        assert_eq!(same, r);
    }

    #[test]
    fn override_of_an_unused_metric_adds_a_condition() {
        let r = builtin();
        let o = RubricOverrides {
            static_checks: Some(LevelOverrides {
                strong: None,
                some: Some(BTreeMap::from([("credited_practices".to_string(), 2.0)])),
            }),
            ..Default::default()
        };
        let r2 = r.with_overrides(&o).expect("valid");
        let mut f = CriterionFacts {
            assessable: true,
            ..Default::default()
        };
        f.metrics.insert("practice_points", 2.0);
        f.metrics.insert("credited_practices", 1.0);
        assert_eq!(r.level(Criterion::StaticChecks, &f).level, Level::Some);
        assert_eq!(r2.level(Criterion::StaticChecks, &f).level, Level::None);
    }

    #[test]
    fn bad_overrides_are_rejected_with_the_key() {
        let r = builtin();
        let unknown = RubricOverrides {
            testing: Some(LevelOverrides {
                strong: Some(BTreeMap::from([("useful_comments".to_string(), 1.0)])),
                some: None,
            }),
            ..Default::default()
        };
        let e = r
            .with_overrides(&unknown)
            .expect_err("not a testing metric");
        assert_eq!(e.key(), Some("testing.strong.useful_comments"));
        assert!(e.to_string().contains("prs_with_tests"), "{e}");

        let negative = RubricOverrides {
            ci_cd: Some(LevelOverrides {
                strong: None,
                some: Some(BTreeMap::from([("practice_points".to_string(), -1.0)])),
            }),
            ..Default::default()
        };
        assert!(r.with_overrides(&negative).is_err());

        let pct = RubricOverrides {
            code_review: Some(LevelOverrides {
                strong: Some(BTreeMap::from([("useful_percent".to_string(), 150.0)])),
                some: None,
            }),
            ..Default::default()
        };
        assert!(r.with_overrides(&pct).is_err());
    }

    #[test]
    fn broken_rubric_files_are_rejected() {
        let bad_metric = BUILTIN_TOML.replace("useful_comments = 1 }", "bogus = 1 }");
        assert!(matches!(
            Rubric::from_toml(&bad_metric),
            Err(RubricError::Invalid { .. })
        ));
        // Practice ids are declared in `config/practices.toml` only.
        let redeclared = BUILTIN_TOML.replace(
            "[criteria.ci_cd]\n",
            "[criteria.ci_cd]\npractices = [\"lint\"]\n",
        );
        assert_ne!(redeclared, BUILTIN_TOML);
        assert!(Rubric::from_toml(&redeclared).is_err());
        assert!(matches!(
            Rubric::from_toml("version = 1"),
            Err(RubricError::Parse(_))
        ));
    }
}
