//! Cancellation of a run (SIGINT/SIGTERM in the CLI): a handle that fires once and a
//! signal the loop awaits.

use tokio::sync::watch;

/// Fires the cancellation.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

/// Awaited by the loop.
#[derive(Debug, Clone)]
pub struct CancelSignal(watch::Receiver<bool>);

/// A connected handle and signal.
pub fn cancel_pair() -> (CancelHandle, CancelSignal) {
    let (sender, receiver) = watch::channel(false);
    (CancelHandle(sender), CancelSignal(receiver))
}

impl CancelHandle {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl CancelSignal {
    /// A signal that never fires.
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        // Keep the channel open for the life of the process: a closed channel would make
        // `cancelled` return at once.
        std::mem::forget(sender);
        Self(receiver)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the run is cancelled.
    pub async fn cancelled(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                // The handle is gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
    }
}
