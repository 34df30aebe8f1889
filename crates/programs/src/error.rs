//! Errors of the program registry.

/// What can go wrong naming a program or parsing its input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No example program has this name.
    #[error("unknown program `{name}` (known: {known})")]
    UnknownProgram {
        /// The name given.
        name: String,
        /// The names known.
        known: String,
    },
    /// The input text is not valid for the program.
    #[error("invalid input for {program}: {reason} (expected {expected})")]
    InvalidInput {
        /// The program.
        program: &'static str,
        /// What is wrong.
        reason: String,
        /// What the program accepts.
        expected: &'static str,
    },
    /// The input is longer than the protocol allows.
    #[error("the input is {len} bytes, above the protocol maximum of {max} bytes")]
    InputTooLarge {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
