//! Errors at the edge: servebench's error types keep their causes as sources and leave them
//! out of their own message, so whoever finally shows one (a server's error body, the CLI, a
//! bench's panic) prints the whole chain with [`chain`], each cause once. And the one error
//! every named value (a protocol, a scene, a stage) gives for a name it does not know.

use std::error::Error;

/// A name that is not one of a type's names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    /// What was being named (`protocol`, `route`).
    pub what: &'static str,
    /// The name given.
    pub name: String,
}

/// The value of `all` whose `name` is `text`: how every named enum parses its names.
pub(crate) fn by_name<T: Copy>(
    what: &'static str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    text: &str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|value| name(*value) == text)
        .ok_or_else(|| UnknownName { what, name: text.to_owned() })
}

/// The values a comma-separated list names, each name expanded by `named` (a set's name to
/// its members, a value's to itself), each value once, in the order first named: how the
/// benches' lists of links and routes parse.
pub(crate) fn by_names<T: PartialEq, E>(
    text: &str,
    named: impl Fn(&str) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut values = Vec::new();
    for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        for value in named(name)? {
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    Ok(values)
}

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
