//! RFC 6455 WebSocket, sans-IO (in progress): payload masking and incremental UTF-8
//! validation so far.

pub mod mask;
pub mod utf8;

pub use mask::apply_mask;
pub use utf8::{InvalidUtf8, Utf8Validator};
