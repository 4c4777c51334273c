//! RFC 6455 WebSocket, sans-IO (in progress): the opening handshake, payload masking and
//! incremental UTF-8 validation so far.

pub mod handshake;
pub mod mask;
pub mod utf8;

pub use handshake::{
    accept_key, encode_client_request, encode_key, validate_request, validate_response,
    ClientHandshake, HandshakeError, ResponseError, ServerHandshake, GUID,
};
pub use mask::apply_mask;
pub use utf8::{InvalidUtf8, Utf8Validator};
