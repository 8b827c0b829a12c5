//! Errors at the edge: servebench's error types keep their causes as sources and leave them
//! out of their own message, so whoever finally shows one (a server's error body, the CLI, a
//! bench's panic) prints the whole chain with [`chain`], each cause once.

use std::error::Error;

/// `error`'s message followed by each of its causes': `a: b: c`.
pub fn chain(error: &(dyn Error + '_)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use crate::codec::{CodecError, json};

    #[test]
    fn a_chain_names_each_cause_once() {
        let error: CodecError = json::decode::<u32>(b"nope").unwrap_err();
        let text = super::chain(&error);
        assert!(text.starts_with("malformed JSON: expected "), "{text}");
        assert_eq!(text.matches("expected").count(), 1, "{text}");
    }
}
