//! The learned half of the review-comment signals: linear models over [`super::features`],
//! trained by `scripts/train_review_model.py` on the training split of the labelled corpus and
//! embedded in the binary (`config/review-model.json`). No download, no network.
//!
//! Each model gives a probability; below its signal's threshold the answer is "uncertain"
//! (`None`), which the rubric counts as unknown rather than as a guess either way.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

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
    index: HashMap<String, u32>,
    features: Vec<String>,
    signals: BTreeMap<String, Signal>,
}

#[derive(Debug)]
struct Signal {
    classes: Vec<String>,
    threshold: f32,
    bias: Vec<f32>,
    /// Dense, `features × bias.len()`.
    weights: Vec<f32>,
}

/// One signal's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prediction {
    /// The winning class, or `None` when the probability is under the threshold.
    pub class: Option<String>,
    pub probability: f32,
    /// The features that pushed hardest toward the winning class, strongest first.
    pub decisive: Vec<(String, f32)>,
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

    /// The model's indices of a comment's features; unknown features carry no weight.
    /// Whether the model decides any signal: when it decides none, the features that only
    /// it reads need not be extracted at all.
    pub(crate) fn decides_anything(&self) -> bool {
        !self.signals.is_empty()
    }

    pub(crate) fn lookup(&self, features: &[String]) -> Vec<u32> {
        features
            .iter()
            .filter_map(|f| self.index.get(f.as_str()).copied())
            .collect()
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
        let mut decisive: Vec<(String, f32)> = ids
            .iter()
            .map(|&id| {
                let row = &s.weights[id as usize * k..id as usize * k + k];
                let toward = if k == 1 {
                    if class_idx == 1 { row[0] } else { -row[0] }
                } else {
                    row[class_idx]
                };
                (self.features[id as usize].clone(), toward)
            })
            .filter(|(_, w)| *w > 0.0)
            .collect();
        decisive.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        decisive.truncate(3);
        let class = (probability >= s.threshold).then(|| s.classes[class_idx].clone());
        Some(Prediction {
            class,
            probability,
            decisive,
        })
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
        m.lookup(&fs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn binary_and_multiclass_predictions_with_their_reasons() {
        let m = Model::parse(TINY).unwrap();
        let p = m
            .predict("has_rationale", &ids(&m, &["w:because"]))
            .unwrap();
        assert_eq!(p.class.as_deref(), Some("true"));
        assert!((p.probability - 0.880_797).abs() < 1e-4);
        assert_eq!(p.decisive, vec![("w:because".to_string(), 3.0)]);

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
    fn malformed_models_are_refused() {
        assert!(Model::parse("{").is_err());
        let bad = TINY.replace("\"bias\": [-1.0]", "\"bias\": [-1.0, 2.0]");
        assert!(matches!(Model::parse(&bad), Err(ModelError::Shape(_))));
        let bad = TINY.replace("[[1, 3.0]]", "[[9, 3.0]]");
        assert!(matches!(Model::parse(&bad), Err(ModelError::Shape(_))));
    }
}
