//! Group commit: a writer task takes what callers have queued as one batch
//! and writes it in one transaction, so concurrent callers wait for one
//! durable commit instead of a queue of them. The job queue's enqueuer
//! (`jobs.rs`) and the ledger's appender (`crate::ledger`) take their
//! batches here, so both follow one rule: the batch is the first item plus
//! whatever is queued at that moment, in order, up to a bound (which bounds
//! a transaction's size and memory), never waiting for more.

use tokio::sync::mpsc;

/// Fills `batch` with `first` and then with the items queued in `rx` right
/// now, in order, until it holds `max` items or the queue is empty.
///
/// An item for which `alone` holds is never in a batch with other items:
/// taken first, it is the whole batch; met later, it ends the batch and is
/// returned, to be the first item of the next one.
pub(crate) fn fill_batch<T>(
    rx: &mut mpsc::Receiver<T>,
    first: T,
    max: usize,
    alone: impl Fn(&T) -> bool,
    batch: &mut Vec<T>,
) -> Option<T> {
    let first_alone = alone(&first);
    batch.push(first);
    while !first_alone && batch.len() < max {
        match rx.try_recv() {
            Ok(item) if alone(&item) => return Some(item),
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::fill_batch;
    use tokio::sync::mpsc;

    fn queue(items: impl IntoIterator<Item = u32>) -> mpsc::Receiver<u32> {
        let (tx, rx) = mpsc::channel(1024);
        for i in items {
            tx.try_send(i).unwrap();
        }
        rx
    }

    fn left(rx: &mut mpsc::Receiver<u32>) -> Vec<u32> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_batch_is_the_first_item_and_everything_queued_in_order() {
        let mut rx = queue(1..=5);
        let mut batch = Vec::new();
        assert_eq!(fill_batch(&mut rx, 0, 10, |_| false, &mut batch), None);
        assert_eq!(batch, vec![0, 1, 2, 3, 4, 5]);
        let mut rx = queue([]);
        let mut batch = Vec::new();
        assert_eq!(fill_batch(&mut rx, 7, 10, |_| false, &mut batch), None);
        assert_eq!(batch, vec![7], "an empty queue: the first item alone, without waiting");
    }

    #[test]
    fn a_batch_holds_at_most_max_items_and_the_rest_stays_queued() {
        let mut rx = queue(1..300);
        let mut batch = Vec::new();
        fill_batch(&mut rx, 0, 256, |_| false, &mut batch);
        assert_eq!(batch, (0..256).collect::<Vec<_>>());
        assert_eq!(left(&mut rx), (256..300).collect::<Vec<_>>());
        // Exactly `max` queued with the first: all taken, nothing left.
        let mut rx = queue(1..4);
        let mut batch = Vec::new();
        fill_batch(&mut rx, 0, 4, |_| false, &mut batch);
        assert_eq!((batch, left(&mut rx)), (vec![0, 1, 2, 3], vec![]));
        let mut rx = queue(1..4);
        let mut batch = Vec::new();
        fill_batch(&mut rx, 0, 1, |_| false, &mut batch);
        assert_eq!((batch, left(&mut rx)), (vec![0], vec![1, 2, 3]));
    }

    #[test]
    fn an_item_that_must_be_alone_is_a_batch_of_its_own() {
        let alone = |i: &u32| *i >= 100;
        // First: the batch is that item only; the queue is untouched.
        let mut rx = queue([1, 2]);
        let mut batch = Vec::new();
        assert_eq!(fill_batch(&mut rx, 100, 10, alone, &mut batch), None);
        assert_eq!((batch, left(&mut rx)), (vec![100], vec![1, 2]));
        // Later: it ends the batch and is handed back; what follows stays queued.
        let mut rx = queue([1, 2, 101, 3, 4]);
        let mut batch = Vec::new();
        assert_eq!(fill_batch(&mut rx, 0, 10, alone, &mut batch), Some(101));
        assert_eq!((batch, left(&mut rx)), (vec![0, 1, 2], vec![3, 4]));
    }
}
