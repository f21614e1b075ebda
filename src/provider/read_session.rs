//! Read sessions: the span of one wave of batched reads (a refresh), during which a provider
//! may share between the reads of different kinds the listings they have in common.
//!
//! Some kinds cannot be listed by owner on their own: AWS lists listeners per load balancer
//! and DNS records per hosted zone, so their reads list the owned parents first, which the
//! parents' own reads list too. A refresh opens a session around its reads so that each such
//! listing is made once per refresh rather than once per kind that needs it.
//!
//! Promises: a session never makes a read see the cloud as it was before the session opened
//! (what one session listed is not reused by the next), and reads made outside any session
//! share nothing.

/// An open read session (see [`super::Provider::read_session`]); dropping it closes the
/// session. One that closes nothing (the default) serves providers whose reads share nothing.
#[must_use = "the session closes when this is dropped"]
#[derive(Default)]
pub struct ReadSession {
    close: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl ReadSession {
    /// A session that runs `close` when it ends.
    pub fn closing_with(close: impl FnOnce() + Send + Sync + 'static) -> ReadSession {
        ReadSession {
            close: Some(Box::new(close)),
        }
    }
}

impl std::fmt::Debug for ReadSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReadSession")
            .field("shares", &self.close.is_some())
            .finish()
    }
}

impl Drop for ReadSession {
    fn drop(&mut self) {
        if let Some(close) = self.close.take() {
            close();
        }
    }
}
