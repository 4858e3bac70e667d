//! Work on many items at once, a bounded number in flight: the principals of a sweep, the
//! accounts of an organisation.

use futures::stream::{self, StreamExt};

/// Runs `work` on each item, up to `limit` (`MAX_CONCURRENCY`) at once, and gathers what each
/// returned, in the order they finished.
pub async fn concurrently<I, T, W>(
    limit: usize,
    items: impl IntoIterator<Item = I>,
    work: impl FnMut(I) -> W,
) -> Vec<T>
where
    W: Future<Output = T>,
{
    stream::iter(items)
        .map(work)
        .buffer_unordered(limit)
        .collect()
        .await
}
