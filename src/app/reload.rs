//! Live reload requests: SIGHUP and `POST /-/reload` both ask the running exporter to re-read its
//! configuration and secret files. The app applies a new configuration only if it is valid.

use tokio::sync::{mpsc, oneshot};

/// One request to reload, answered with the outcome.
pub struct ReloadRequest {
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Cheap to clone; held by the HTTP server and the signal handler.
#[derive(Clone, Debug)]
pub struct ReloadHandle {
    requests: mpsc::Sender<ReloadRequest>,
}

/// The handle, and the receiving end the app serves.
pub fn channel() -> (ReloadHandle, mpsc::Receiver<ReloadRequest>) {
    // Reloads are rare and serialised; a short queue is plenty: a sender beyond it waits for the app,
    // which empties the queue at every reload and answers the whole queue with one.
    let (requests, receiver) = mpsc::channel(8);
    (ReloadHandle { requests }, receiver)
}

impl ReloadHandle {
    /// Asks for a reload and waits for its outcome: `Err` carries the reason it was rejected.
    pub async fn reload(&self) -> Result<(), String> {
        let (reply, outcome) = oneshot::channel();
        self.requests
            .send(ReloadRequest { reply })
            .await
            .map_err(|_| "the exporter is shutting down".to_owned())?;
        outcome
            .await
            .map_err(|_| "the exporter is shutting down".to_owned())?
    }
}
