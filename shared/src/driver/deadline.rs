//! The Lambda deadline: how close to it a run may start a read or a change, with time kept in
//! hand for the run's closing work.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

/// Time kept in hand before the Lambda deadline: no new change starts after it, so a run never
/// dies half-way through one. What is left is reported and the next run picks it up. A short
/// invocation budget keeps a fifth of it instead.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The Lambda deadline, and how close to it the run may start a read or a change.
#[derive(Debug)]
pub(super) struct Deadline {
    at: Option<SystemTime>,
    margin: Duration,
    /// The slowest read or change so far: the time kept in hand is never less than one and a
    /// half of it, so a slow API cannot carry a change past the deadline.
    slowest: Cell<Duration>,
    /// The closing work promised so far (findings, Config, messages), kept in hand too: a run
    /// that recorded a warning has the time to tell its owner.
    closing: Cell<Closing>,
    /// `MAX_CONCURRENCY`: messages are published this many at once.
    concurrency: usize,
}

/// The calls a run's closing work makes after its changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Closing {
    /// Calls made one after another (each finding's update, the Config evaluation, the summary).
    sequential: usize,
    /// Owner messages, published `MAX_CONCURRENCY` at once.
    messages: usize,
}

impl Deadline {
    pub(super) fn new(at: Option<SystemTime>, concurrency: usize) -> Self {
        let budget = at.map(|d| d.duration_since(SystemTime::now()).unwrap_or_default());
        tracing::debug!(
            budget_ms = budget.map(|b| b.as_millis()),
            "invocation budget"
        );
        Self {
            at,
            margin: budget.map_or(DEADLINE_MARGIN, |budget| DEADLINE_MARGIN.min(budget / 5)),
            slowest: Cell::new(Duration::ZERO),
            closing: Cell::new(Closing::default()),
            concurrency: concurrency.max(1),
        }
    }

    /// The time kept in hand: the margin (or one and a half of the slowest call), plus the
    /// closing work, each of its rounds of calls counted as long as the slowest call so far.
    fn in_hand(&self) -> Duration {
        let closing = self.closing.get();
        let rounds = closing.sequential + closing.messages.div_ceil(self.concurrency);
        let slowest = self.slowest.get();
        self.margin.max(slowest.mul_f64(1.5)) + slowest * u32::try_from(rounds).unwrap_or(u32::MAX)
    }

    /// Keeps time for `calls` closing calls made one after another.
    pub(super) fn reserve_sequential(&self, calls: usize) {
        let mut closing = self.closing.get();
        closing.sequential += calls;
        self.closing.set(closing);
    }

    /// Keeps time for one more owner message, when there is time for it and for a change before
    /// it; false (and nothing kept) when there is not.
    pub(super) fn reserve_message(&self) -> bool {
        let before = self.closing.get();
        self.closing.set(Closing {
            messages: before.messages + 1,
            ..before
        });
        if self.too_close_to_change() {
            self.closing.set(before);
            return false;
        }
        true
    }

    /// Gives back the time kept for an owner message that will not be sent.
    pub(super) fn release_message(&self) {
        let mut closing = self.closing.get();
        closing.messages = closing.messages.saturating_sub(1);
        self.closing.set(closing);
    }

    fn left_below(&self, threshold: Duration) -> bool {
        self.at.is_some_and(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .map_or(true, |left| left < threshold)
        })
    }

    /// True when the deadline is too close to start another change.
    pub(super) fn too_close_to_change(&self) -> bool {
        self.left_below(self.in_hand())
    }

    /// True when a sweep should stop reading to leave time for its changes (twice what is kept
    /// in hand for the changes themselves).
    pub(super) fn too_close_to_read(&self) -> bool {
        self.left_below(self.in_hand() * 2)
    }

    pub(super) fn observe(&self, took: Duration) {
        self.slowest.set(self.slowest.get().max(took));
    }
}
