//! Error chains: an error's causes, and the whole chain on one line.
//!
//! Libraries wrap errors in errors (the SDK's service error around its response, a state
//! error around an I/O error); the text a user reads is the chain of their messages. Many
//! wrappers repeat their cause's message in their own, so a cause whose message the line
//! already ends with is said once, not twice.

use std::error::Error;

/// The causes of `error`, nearest first (not `error` itself).
pub fn causes<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(error.source(), |&cause: &&'a (dyn Error + 'static)| {
        cause.source()
    })
}

/// `error` and its causes on one line, `outer: inner: innermost`, each message once.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    for cause in causes(error) {
        let message = cause.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("could not save the state")]
        Save(#[source] Middle),
        #[error("refused: {0}")]
        Repeats(#[source] Middle),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("could not write `state.json`")]
    struct Middle(#[source] std::io::Error);

    fn disk_full() -> std::io::Error {
        std::io::Error::other("disk full")
    }

    #[test]
    fn the_chain_names_every_cause_in_order() {
        let error = Outer::Save(Middle(disk_full()));
        assert_eq!(
            error_chain(&error),
            "could not save the state: could not write `state.json`: disk full"
        );
        let messages: Vec<String> = causes(&error).map(ToString::to_string).collect();
        assert_eq!(messages, ["could not write `state.json`", "disk full"]);
    }

    #[test]
    fn a_cause_the_message_already_ends_with_is_said_once() {
        let error = Outer::Repeats(Middle(disk_full()));
        assert_eq!(
            error_chain(&error),
            "refused: could not write `state.json`: disk full"
        );
    }

    #[test]
    fn an_error_without_causes_is_its_message() {
        assert_eq!(error_chain(&disk_full()), "disk full");
        assert_eq!(causes(&disk_full()).count(), 0);
    }
}
