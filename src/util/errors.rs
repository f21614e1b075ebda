//! Error chains: an error's causes, and the whole chain on one line.
//!
//! Libraries wrap errors in errors (the SDK's service error around its response, a state
//! error around an I/O error); the text a user reads is the chain of their messages. Many
//! wrappers repeat their cause's message in their own, so a cause whose message is already
//! shown is left out: each thing is said once.

use std::error::Error;

/// The causes of `error`, nearest first (not `error` itself).
pub fn causes<'a>(error: &'a (dyn Error + 'a)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(error.source(), |&cause: &&'a (dyn Error + 'static)| {
        cause.source()
    })
}

/// The messages of `error`'s causes, nearest first, without those that `error`'s own message
/// or a nearer cause already shows.
pub fn new_causes(error: &dyn Error) -> Vec<String> {
    let mut shown = error.to_string();
    let mut found = Vec::new();
    for cause in causes(error) {
        let message = cause.to_string();
        if !shown.contains(&message) {
            shown.push('\n');
            shown.push_str(&message);
            found.push(message);
        }
    }
    found
}

/// `error` and its causes on one line, `outer: inner: innermost`, each message once.
pub fn error_chain(error: &dyn Error) -> String {
    std::iter::once(error.to_string())
        .chain(new_causes(error))
        .collect::<Vec<_>>()
        .join(": ")
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
    fn a_cause_already_shown_anywhere_is_left_out() {
        let error = Outer::Save(Middle(std::io::Error::other("state.json")));
        assert_eq!(
            new_causes(&error),
            ["could not write `state.json`"],
            "the innermost cause is named in the middle one"
        );
    }

    #[test]
    fn an_error_without_causes_is_its_message() {
        assert_eq!(error_chain(&disk_full()), "disk full");
        assert_eq!(causes(&disk_full()).count(), 0);
    }
}
