//! [`PolicyError`]: why a bundle could not be loaded or evaluated.

/// Anything that can go wrong loading or evaluating a bundle. Messages name
/// the file and, where the parser knows them, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy bundle {path}: {message}")]
    Read { path: String, message: String },
    #[error("{0}")]
    Syntax(String),
    #[error("{file}: {message}")]
    Data { file: String, message: String },
    #[error("policy bundle has no policies (no .rego files besides tests)")]
    Empty,
    #[error("policy evaluation failed: {0}")]
    Eval(String),
    #[error("policy output is invalid at `{field}`: {message}")]
    Output { field: String, message: String },
}
