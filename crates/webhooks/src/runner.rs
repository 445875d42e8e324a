//! The loop both workers run, shaped like the email worker's: a pass on a blocking thread,
//! another at once when the batch was full, otherwise a sleep that a wake-up or shutdown cuts
//! short. A pass in progress is always finished before the loop stops, so no leased row is left
//! without its outcome recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::error::WebhookError;

/// One kind of worker pass.
pub(crate) trait Pass: Send + Sync + 'static {
    /// What the worker is, for logs.
    const NAME: &'static str;
    /// Leases and handles one batch; returns how many rows were leased. Blocks.
    fn run_once(&self) -> Result<usize, WebhookError>;
    /// The id recorded as `leased_by`.
    fn id(&self) -> &str;
}

pub(crate) async fn run<P: Pass>(
    worker: Arc<P>,
    poll_interval: Duration,
    batch_size: i64,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(worker = %worker.id(), "{} started", P::NAME);
    while !*shutdown.borrow_and_update() {
        let pass = Arc::clone(&worker);
        let full_batch = match tokio::task::spawn_blocking(move || pass.run_once()).await {
            Ok(Ok(handled)) => handled > 0 && i64::try_from(handled).is_ok_and(|n| n >= batch_size),
            Ok(Err(error)) => {
                tracing::error!(
                    worker = %worker.id(),
                    error = %error,
                    "{} pass failed; trying again at the next tick",
                    P::NAME
                );
                false
            }
            Err(join) => {
                tracing::error!(
                    worker = %worker.id(),
                    error = %join,
                    "{} pass did not complete; trying again at the next tick",
                    P::NAME
                );
                false
            }
        };
        if full_batch {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            () = wake.notified() => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(worker = %worker.id(), "{} stopped", P::NAME);
}

/// Host name, process id and a random suffix, so leases by other instances, other workers in
/// this process, or a restarted process with the same pid are never mistaken for this worker's.
pub(crate) fn worker_id(kind: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "dsms".to_owned());
    let suffix = rand::random::<u32>() & 0x00ff_ffff;
    format!("{host}:{}:{kind}:{suffix:06x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_unique_and_name_the_process() {
        let ids: std::collections::HashSet<_> = (0..50).map(|_| worker_id("webhooks")).collect();
        assert_eq!(ids.len(), 50);
        let pid = format!(":{}:webhooks:", std::process::id());
        assert!(ids.iter().all(|id| id.contains(&pid)), "{ids:?}");
    }
}
