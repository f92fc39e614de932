//! The report as JSON. Field order is the model's declaration order, so the output
//! is stable from one run to the next; `docs/report.schema.json` documents it.

use crate::model::Report;

/// Pretty-printed JSON of the report, ending with a newline.
pub fn json(report: &Report) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // The model has only string-keyed maps and plain data, so serialisation cannot fail;
        // should that ever change, say so in valid JSON rather than panic.
        Err(e) => format!(
            "{}\n",
            serde_json::json!({ "error": format!("could not serialise the report: {e}") })
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReportInput, Rubric, build};

    #[test]
    fn json_round_trips_and_keeps_spec_field_order() {
        let rubric = Rubric::builtin().expect("rubric");
        let report = build(ReportInput::default(), &rubric);
        let text = json(&report);
        let back: Report = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, report);
        let keys = [
            "\"folio_version\"",
            "\"candidate\"",
            "\"sources\"",
            "\"practices\"",
            "\"pull_requests\"",
            "\"reviews\"",
            "\"review_comments\"",
            "\"criteria\"",
            "\"warnings\"",
            "\"api_requests\"",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(k).expect("field present"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
    }
}
