//! Keeping a message JetStream handed out from being handed out again while its work lasts.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};

/// How often held work tells JetStream it is in progress: well within the 30 s ack wait of
/// the events and retry consumers, for work that may take longer (an attempt may take 60 s).
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// Runs `work` for `message`, telling JetStream every [`EVERY`] that the message is in
/// progress, so that a slow receiver does not get it handed out again meanwhile.
pub(crate) async fn in_progress<T>(
    message: &jetstream::Message,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep(EVERY) => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}
