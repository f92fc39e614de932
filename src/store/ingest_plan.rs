//! The decisions of a group commit that do not depend on the backend.

use std::collections::{HashMap, HashSet};

use super::{IngestOutcome, NewDelivery, NewJob};

/// The decisions of a group commit that do not depend on the backend: which deliveries to
/// insert, which jobs to upsert once the database has said which deliveries were new, and what
/// each request is answered. Both backends' `ingest_batch` are thin around it.
pub(crate) struct IngestPlan<'a> {
    batch: &'a [NewDelivery],
    first: Vec<bool>,
}

impl<'a> IngestPlan<'a> {
    pub(crate) fn new(batch: &'a [NewDelivery]) -> Self {
        Self {
            batch,
            first: first_in_batch(batch),
        }
    }

    /// The first occurrence of each delivery id, in id order: concurrent batches (PostgreSQL
    /// runs several writers) then take their row locks in one order and never wait on each
    /// other in a cycle, which would cost PostgreSQL's deadlock_timeout (1 s) and fail a batch.
    pub(crate) fn deliveries(&self) -> Vec<&'a NewDelivery> {
        let mut unique: Vec<&NewDelivery> = self
            .batch
            .iter()
            .zip(&self.first)
            .filter(|(_, f)| **f)
            .map(|(d, _)| d)
            .collect();
        unique.sort_unstable_by(|a, b| a.guid.cmp(&b.guid));
        unique
    }

    /// Given the delivery ids the database took as new, which deliveries are fresh and the
    /// coalesced jobs to upsert, in key order (for the same lock-order reason).
    pub(crate) fn jobs(&self, inserted: &HashSet<&str>) -> (Vec<bool>, Vec<NewJob>) {
        let fresh: Vec<bool> = self
            .batch
            .iter()
            .zip(&self.first)
            .map(|(d, f)| *f && inserted.contains(d.guid.as_str()))
            .collect();
        let mut jobs = coalesce_batch(self.batch, &fresh);
        jobs.sort_unstable_by(|a, b| a.dedupe_key.cmp(&b.dedupe_key));
        (fresh, jobs)
    }

    /// The answer for each delivery, in input order.
    pub(crate) fn outcomes(
        &self,
        fresh: &[bool],
        job_ids: &HashMap<String, i64>,
    ) -> Vec<IngestOutcome> {
        self.batch
            .iter()
            .zip(fresh)
            .map(|(d, is_new)| {
                if *is_new {
                    IngestOutcome::Accepted {
                        job_id: d
                            .job
                            .as_ref()
                            .and_then(|j| job_ids.get(&j.dedupe_key).copied()),
                    }
                } else {
                    IngestOutcome::Duplicate
                }
            })
            .collect()
    }
}

/// Groups the jobs of a batch by key, keeping the newest payload and any actor, so that one
/// multi-row upsert never touches a row twice (PostgreSQL rejects that).
pub(crate) fn coalesce_batch(batch: &[NewDelivery], fresh: &[bool]) -> Vec<NewJob> {
    let mut out: Vec<NewJob> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (d, is_new) in batch.iter().zip(fresh) {
        let (true, Some(job)) = (*is_new, &d.job) else {
            continue;
        };
        if let Some(&i) = index.get(job.dedupe_key.as_str()) {
            let existing = &mut out[i];
            existing.payload = job.payload.clone();
            existing.kind = job.kind.clone();
            existing.run_at = existing.run_at.min(job.run_at);
            if job.actor.is_some() {
                existing.actor = job.actor.clone();
            }
        } else {
            index.insert(job.dedupe_key.as_str(), out.len());
            out.push(job.clone());
        }
    }
    out
}

/// Marks which deliveries of a batch are first occurrences within the batch: neither their id
/// nor their body came earlier in it.
pub(crate) fn first_in_batch(batch: &[NewDelivery]) -> Vec<bool> {
    let mut guids = HashSet::with_capacity(batch.len());
    let mut bodies = HashSet::with_capacity(batch.len());
    batch
        .iter()
        .map(|d| {
            let new_body = d.body_hash.as_deref().is_none_or(|h| bodies.insert(h));
            guids.insert(d.guid.as_str()) && new_body
        })
        .collect()
}
