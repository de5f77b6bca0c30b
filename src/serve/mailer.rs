//! Sends the signup confirmations through the configured transport, one at a time, off the
//! request path.
//!
//! `POST /subscribe` answers the same page whatever happens next, in the same time: the message
//! goes into a short queue and a single task sends it (reusing one SMTP connection while the
//! queue has work, closing it when idle). A full queue drops the message with a warning rather
//! than holding memory or the request — the reader can ask again. Transient failures are tried
//! a few times; nothing is journaled (a confirmation is not an edition).

use std::time::Duration;

use lettre::address::Envelope;
use tokio::sync::mpsc;

use crate::deliver::transport::{Failure, Label, TransportSpec};

/// Messages waiting at most; past this, new ones are dropped.
pub const QUEUE: usize = 64;
/// Attempts per message.
const ATTEMPTS: u32 = 3;
const RETRY_BASE: Duration = Duration::from_secs(2);

/// One message to send.
#[derive(Debug)]
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

/// The sending end of the queue.
#[derive(Debug, Clone)]
pub struct Mailer {
    queue: mpsc::Sender<Outgoing>,
}

impl Mailer {
    /// Starts the sending task on the current tokio runtime. The task ends when every
    /// [`Mailer`] is dropped and the queue is empty.
    pub fn start(transport: TransportSpec) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(transport, receiver));
        Self { queue }
    }

    /// Queues a message; `false` when the queue is full (the message is dropped).
    pub fn queue(&self, message: Outgoing) -> bool {
        self.queue.try_send(message).is_ok()
    }
}

async fn run(spec: TransportSpec, mut receiver: mpsc::Receiver<Outgoing>) {
    if let TransportSpec::Outbox { dir } = &spec
        && let Err(e) = tokio::fs::create_dir_all(dir).await
    {
        tracing::error!("cannot create the outbox {}: {e}", dir.display());
    }
    let mut transport = spec.open();
    let mut seq = 0;
    while let Some(message) = receiver.recv().await {
        let to = message
            .envelope
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        seq += 1;
        // An outbox names the file `confirm-<n>-<address>.eml`.
        let label = Label {
            edition: "confirm",
            seq,
            address: &to,
            proof: false,
        };
        for attempt in 1..=ATTEMPTS {
            match transport
                .send(&message.envelope, &message.bytes, label)
                .await
            {
                Ok(reply) => {
                    tracing::info!(to, "sent a signup confirmation: {reply}");
                    break;
                }
                // Not counted as a bounce: the address is not on the list until it confirms.
                Err(Failure::Permanent(e) | Failure::Refused(e)) => {
                    tracing::warn!(to, "a signup confirmation was refused: {e}");
                    break;
                }
                Err(Failure::Transient(e)) if attempt < ATTEMPTS => {
                    tracing::info!(to, "a signup confirmation failed, retrying: {e}");
                    tokio::time::sleep(RETRY_BASE * attempt).await;
                }
                Err(Failure::Transient(e)) => {
                    tracing::warn!(to, "gave up on a signup confirmation: {e}");
                }
            }
        }
        if receiver.is_empty() {
            transport.close().await;
        }
    }
}
