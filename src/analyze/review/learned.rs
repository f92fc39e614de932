//! The learned half of the review-comment signals: linear models over [`super::features`],
//! trained by `scripts/train_review_model.py` on the training split of the labelled corpus and
//! embedded in the binary (`config/review-model.json`). No download, no network.
//!
//! Each model gives a probability. From its signal's override up, the model's answer replaces
//! the rules'; under its threshold, where the rules say otherwise, the answer is "uncertain"
//! (`None`), which the rubric counts as unknown rather than as a guess either way; elsewhere
//! the rules' answer stands (`signals::apply`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use serde::Deserialize;

const EMBEDDED: &str = include_str!("../../../config/review-model.json");

static MODEL: LazyLock<Option<Model>> = LazyLock::new(|| Model::parse(EMBEDDED).ok());

/// The embedded model, or `None` if it could not be read (the rules then decide alone; a
/// test keeps that from shipping).
pub(crate) fn model() -> Option<&'static Model> {
    MODEL.as_ref()
}

#[derive(Debug, Deserialize)]
struct ModelFile {
    format: u32,
    corpus_sha256: String,
    labels_sha256: String,
    features: Vec<String>,
    signals: BTreeMap<String, SignalFile>,
    /// Accuracy on the frozen test split, as the training script measured it.
    #[serde(default)]
    test_accuracy: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
struct SignalFile {
    classes: Vec<String>,
    threshold: f32,
    /// From this probability up the model's answer stands; between `threshold` and here the
    /// rules' answer does. Absent: the model's answer stands from `threshold` up.
    #[serde(default, rename = "override")]
    override_at: Option<f32>,
    bias: Vec<f32>,
    /// `[feature index, weight per class…]`, only for features with a weight.
    rows: Vec<Vec<f32>>,
}

#[derive(Debug)]
pub(crate) struct Model {
    // The hashes and the recorded accuracy are checked by the corpus tests, not at run time.
    #[cfg_attr(not(test), allow(dead_code))]
    pub corpus_sha256: String,
    #[cfg_attr(not(test), allow(dead_code))]
    pub labels_sha256: String,
    #[cfg_attr(not(test), allow(dead_code))]
    pub test_accuracy: BTreeMap<String, f64>,
    // Looked up once per feature of every comment: a fast hash for short keys. The keys are
    // the model's own feature names, not input, so a hash-flooding attack has nothing to aim at.
    index: FxHashMap<String, u32>,
    features: Vec<String>,
    signals: BTreeMap<String, Signal>,
}

#[derive(Debug)]
struct Signal {
    classes: Vec<String>,
    threshold: f32,
    override_at: f32,
    bias: Vec<f32>,
    /// Dense, `features × bias.len()`.
    weights: Vec<f32>,
}

/// One signal's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prediction {
    /// The winning class, or `None` when the probability is under the threshold.
    pub class: Option<String>,
    /// The winning class, whatever its probability.
    pub top: String,
    /// Whether the model is sure enough for its class to replace the rules' answer; when not
    /// (and `class` is set), the rules' answer stands.
    pub overrides_rules: bool,
    pub probability: f32,
    /// The winning class's index, for [`Model::decisive`].
    class_idx: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ModelError {
    #[error("the review model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the review model is malformed: {0}")]
    Shape(String),
}

impl Model {
    pub(crate) fn parse(json: &str) -> Result<Model, ModelError> {
        let file: ModelFile = serde_json::from_str(json)?;
        if file.format != 1 {
            return Err(ModelError::Shape(format!("unknown format {}", file.format)));
        }
        let n = file.features.len();
        let mut signals = BTreeMap::new();
        for (name, s) in file.signals {
            let k = s.bias.len();
            let expected = if s.classes.len() == 2 {
                1
            } else {
                s.classes.len()
            };
            if k != expected || k == 0 {
                return Err(ModelError::Shape(format!(
                    "{name}: {} classes but {k} biases",
                    s.classes.len()
                )));
            }
            let mut weights = vec![0.0; n * k];
            for row in &s.rows {
                let Some((&idx, w)) = row.split_first() else {
                    continue;
                };
                let idx = idx as usize;
                if idx >= n || w.len() != k {
                    return Err(ModelError::Shape(format!(
                        "{name}: bad row for feature {idx}"
                    )));
                }
                weights[idx * k..idx * k + k].copy_from_slice(w);
            }
            signals.insert(
                name,
                Signal {
                    classes: s.classes,
                    threshold: s.threshold,
                    override_at: s.override_at.unwrap_or(s.threshold).max(s.threshold),
                    bias: s.bias,
                    weights,
                },
            );
        }
        let index = file
            .features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i as u32))
            .collect();
        Ok(Model {
            corpus_sha256: file.corpus_sha256,
            labels_sha256: file.labels_sha256,
            test_accuracy: file.test_accuracy,
            index,
            features: file.features,
            signals,
        })
    }

    /// Whether the model decides any signal: when it decides none, the features that only
    /// it reads need not be extracted at all.
    pub(crate) fn decides_anything(&self) -> bool {
        !self.signals.is_empty()
    }

    /// The model's index of one feature; an unknown feature carries no weight.
    pub(crate) fn id(&self, feature: &str) -> Option<u32> {
        self.index.get(feature).copied()
    }

    pub(crate) fn predict(&self, signal: &str, ids: &[u32]) -> Option<Prediction> {
        let s = self.signals.get(signal)?;
        let k = s.bias.len();
        let mut logits = s.bias.clone();
        for &id in ids {
            let row = &s.weights[id as usize * k..id as usize * k + k];
            for (l, w) in logits.iter_mut().zip(row) {
                *l += w;
            }
        }
        let (class_idx, probability) = if k == 1 {
            let p = 1.0 / (1.0 + (-logits[0]).exp());
            if p >= 0.5 { (1, p) } else { (0, 1.0 - p) }
        } else {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
            let total: f32 = exps.iter().sum();
            let (i, e) = exps
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &e)| {
                    if e > best.1 { (i, e) } else { best }
                });
            (i, e / total)
        };
        let class = (probability >= s.threshold).then(|| s.classes[class_idx].clone());
        Some(Prediction {
            class,
            top: s.classes[class_idx].clone(),
            overrides_rules: probability >= s.override_at,
            probability,
            class_idx,
        })
    }

    /// The features that pushed hardest toward the winning class of `p`, strongest first (at
    /// most three). Asked only where the answer is shown, since most answers are the rules'.
    pub(crate) fn decisive(&self, signal: &str, ids: &[u32], p: &Prediction) -> Vec<(String, f32)> {
        let Some(s) = self.signals.get(signal) else {
            return Vec::new();
        };
        let k = s.bias.len();
        let mut toward: Vec<(u32, f32)> = ids
            .iter()
            .map(|&id| {
                let row = &s.weights[id as usize * k..id as usize * k + k];
                let w = if k == 1 {
                    if p.class_idx == 1 { row[0] } else { -row[0] }
                } else {
                    row[p.class_idx]
                };
                (id, w)
            })
            .filter(|(_, w)| *w > 0.0)
            .collect();
        let by_weight = |a: &(u32, f32), b: &(u32, f32)| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.features[a.0 as usize].cmp(&self.features[b.0 as usize]))
        };
        if toward.len() > 3 {
            toward.select_nth_unstable_by(2, by_weight);
            toward.truncate(3);
        }
        toward.sort_by(by_weight);
        toward
            .into_iter()
            .map(|(id, w)| (self.features[id as usize].clone(), w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"{
        "format": 1, "corpus_sha256": "c", "labels_sha256": "l", "settings": {},
        "features": ["w:lgtm", "w:because", "q:any"],
        "signals": {
            "has_rationale": {"classes": ["false", "true"], "threshold": 0.6, "bias": [-1.0],
                              "rows": [[1, 3.0]]},
            "kind": {"classes": ["approval_only", "question", "defect"], "threshold": 0.5,
                     "bias": [0.0, 0.0, 0.0],
                     "rows": [[0, 4.0, 0.0, 0.0], [2, 0.0, 1.0, 1.0], [1, 0.0, 0.0, 1.0]]}
        }
    }"#;

    fn ids(m: &Model, fs: &[&str]) -> Vec<u32> {
        fs.iter().filter_map(|f| m.id(f)).collect()
    }

    #[test]
    fn binary_and_multiclass_predictions_with_their_reasons() {
        let m = Model::parse(TINY).unwrap();
        let p = m
            .predict("has_rationale", &ids(&m, &["w:because"]))
            .unwrap();
        assert_eq!(p.class.as_deref(), Some("true"));
        assert!((p.probability - 0.880_797).abs() < 1e-4);
        let because = ids(&m, &["w:because"]);
        assert_eq!(
            m.decisive("has_rationale", &because, &p),
            vec![("w:because".to_string(), 3.0)]
        );

        let p = m
            .predict("has_rationale", &ids(&m, &["w:unknown"]))
            .unwrap();
        assert_eq!(p.class.as_deref(), Some("false"), "0.73 ≥ 0.6");

        let p = m.predict("kind", &ids(&m, &["w:lgtm"])).unwrap();
        assert_eq!(p.class.as_deref(), Some("approval_only"));
        assert!(m.predict("tone", &[]).is_none(), "no model for tone");
    }

    #[test]
    fn under_the_threshold_the_answer_is_uncertain() {
        let m = Model::parse(TINY).unwrap();
        // Question and defect tie: each 0.42, under the 0.5 threshold.
        let p = m.predict("kind", &ids(&m, &["q:any"])).unwrap();
        assert_eq!(p.class, None);
        assert!((p.probability - 0.422_319).abs() < 1e-4);
        // One more word for defect decides it.
        let p = m
            .predict("kind", &ids(&m, &["q:any", "w:because"]))
            .unwrap();
        assert_eq!(p.class.as_deref(), Some("defect"));
    }

    #[test]
    fn between_threshold_and_override_the_rules_answer_stands() {
        let with_override = TINY.replace(
            "\"threshold\": 0.6, \"bias\": [-1.0]",
            "\"threshold\": 0.6, \"override\": 0.85, \"bias\": [-1.0]",
        );
        let m = Model::parse(&with_override).unwrap();
        // 0.73: decided, but not surely enough to replace the rules.
        let p = m
            .predict("has_rationale", &ids(&m, &["w:unknown"]))
            .unwrap();
        assert_eq!(p.class.as_deref(), Some("false"));
        assert!(!p.overrides_rules);
        // 0.88: the model's answer stands.
        let p = m
            .predict("has_rationale", &ids(&m, &["w:because"]))
            .unwrap();
        assert!(p.overrides_rules);
        // Without an override the model's answer stands from the threshold up.
        let m = Model::parse(TINY).unwrap();
        let p = m
            .predict("has_rationale", &ids(&m, &["w:unknown"]))
            .unwrap();
        assert!(p.overrides_rules);
    }

    #[test]
    fn malformed_models_are_refused() {
        assert!(Model::parse("{").is_err());
        let bad = TINY.replace("\"bias\": [-1.0]", "\"bias\": [-1.0, 2.0]");
        assert!(matches!(Model::parse(&bad), Err(ModelError::Shape(_))));
        let bad = TINY.replace("[[1, 3.0]]", "[[9, 3.0]]");
        assert!(matches!(Model::parse(&bad), Err(ModelError::Shape(_))));
    }
}
