//! Close codes and the Close frame's payload (RFC 6455 §5.5.1, §7.4).
//!
//! For: naming status codes, telling which may appear on the wire, and parsing and encoding
//! a Close payload (a 2-byte code then a UTF-8 reason). Not for: the closing handshake
//! itself, which [`Connection`](super::Connection) runs.

use std::fmt;

use super::{Error, Utf8Validator, MAX_CONTROL_PAYLOAD};

/// A WebSocket status code (RFC 6455 §7.4), as carried in the first two bytes of a Close
/// frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000, RFC 6455 §7.4.1: "indicates a normal closure, meaning that the purpose for which
    /// the connection was established has been fulfilled".
    pub const NORMAL: Self = Self(1000);
    /// 1001: "an endpoint is "going away", such as a server going down or a browser having
    /// navigated away from a page".
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: "an endpoint is terminating the connection due to a protocol error".
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: "it has received a type of data it cannot accept".
    pub const UNSUPPORTED: Self = Self(1003);
    /// 1005: "MUST NOT be set as a status code in a Close control frame by an endpoint. It is
    /// designated for use in applications expecting a status code to indicate that no status
    /// code was actually present."
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: "MUST NOT be set as a status code in a Close control frame by an endpoint ...
    /// the connection was closed abnormally, e.g., without sending or receiving a Close
    /// control frame".
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: "it has received data within a message that was not consistent with the type of
    /// the message (e.g., non-UTF-8 \[RFC3629\] data within a text message)".
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: "it has received a message that violates its policy".
    pub const POLICY: Self = Self(1008);
    /// 1009: "it has received a message that is too big for it to process".
    pub const TOO_BIG: Self = Self(1009);
    /// 1010: the client "expected the server to negotiate one or more extension".
    pub const MANDATORY_EXT: Self = Self(1010);
    /// 1011: "it encountered an unexpected condition that prevented it from fulfilling the
    /// request".
    pub const INTERNAL: Self = Self(1011);
    /// 1012 (IANA registry): the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013 (IANA registry): try again later, the server is overloaded.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014 (IANA registry): a gateway or proxy received an invalid upstream response.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: "MUST NOT be set as a status code in a Close control frame by an endpoint ...
    /// failure to perform a TLS handshake".
    pub const TLS: Self = Self(1015);

    /// Whether this code may travel in a Close frame, per RFC 6455 §7.4 and the IANA
    /// "WebSocket Close Code Number Registry": 1000-1003 and 1007-1014 are defined for the
    /// wire, 3000-3999 are for libraries and frameworks, 4000-4999 for applications. Below
    /// 1000 is unused ("Status codes in the range 0-999 are not used"), 1004 is reserved,
    /// 1005/1006/1015 are reserved for reporting and "MUST NOT be set ... in a Close control
    /// frame", 1016-2999 are reserved for future RFCs, and 5000 and up are undefined.
    ///
    /// ```
    /// use wiretap::ws::CloseCode;
    ///
    /// assert!(CloseCode::NORMAL.is_valid_on_wire());
    /// assert!(CloseCode(4000).is_valid_on_wire());
    /// assert!(!CloseCode::NO_STATUS.is_valid_on_wire());
    /// assert!(!CloseCode(2000).is_valid_on_wire());
    /// ```
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The largest reason a Close frame can carry: the control payload limit less the 2-byte
/// code. RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// A parsed Close payload, borrowing its reason from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosePayload<'a> {
    /// The status code, or `None` for an empty payload (reported as 1005 by convention,
    /// never sent as such).
    pub code: Option<CloseCode>,
    /// The reason after the code: valid UTF-8, possibly empty.
    pub reason: &'a str,
}

impl<'a> ClosePayload<'a> {
    /// Parses the (unmasked) payload of a Close frame.
    ///
    /// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
    /// unsigned integer (in network byte order) representing a status code with value /code/
    /// defined in Section 7.4. Following the 2-byte integer, the body MAY contain UTF-8-encoded
    /// data with value /reason/". An empty payload is allowed; one byte cannot hold a code
    /// ([`Error::CloseTooShort`]); a code not valid on the wire is
    /// [`Error::InvalidCloseCode`]; a reason that is not UTF-8 is
    /// [`Error::InvalidCloseReason`].
    ///
    /// ```
    /// use wiretap::ws::{ClosePayload, CloseCode, Error};
    ///
    /// let close = ClosePayload::parse(b"\x03\xe8bye").unwrap();
    /// assert_eq!(close.code, Some(CloseCode::NORMAL));
    /// assert_eq!(close.reason, "bye");
    /// assert_eq!(ClosePayload::parse(b"").unwrap().code, None);
    /// assert_eq!(ClosePayload::parse(b"\x03"), Err(Error::CloseTooShort));
    /// ```
    pub fn parse(payload: &'a [u8]) -> Result<Self, Error> {
        Self::parse_at(payload).map_err(|(error, _)| error)
    }

    /// [`parse`](Self::parse), also telling the offset in the payload of the offending byte.
    pub(crate) fn parse_at(payload: &'a [u8]) -> Result<Self, (Error, usize)> {
        let (code, reason) = match payload {
            [] => {
                return Ok(Self {
                    code: None,
                    reason: "",
                })
            }
            [_] => return Err((Error::CloseTooShort, 0)),
            [hi, lo, reason @ ..] => (CloseCode(u16::from_be_bytes([*hi, *lo])), reason),
        };
        if !code.is_valid_on_wire() {
            return Err((Error::InvalidCloseCode, 0));
        }
        let Ok(reason) = std::str::from_utf8(reason) else {
            // Only the incremental validator names the offending byte (std names the start
            // of its sequence).
            let mut utf8 = Utf8Validator::new();
            let at = match utf8.feed(reason).and_then(|()| utf8.finish()) {
                Err(bad) => bad.offset as usize,
                Ok(()) => 0,
            };
            return Err((Error::InvalidCloseReason, 2 + at));
        };
        Ok(Self {
            code: Some(code),
            reason,
        })
    }
}

/// Appends a Close payload: nothing when `code` is `None`, else the code in network byte
/// order and the reason. The caller keeps the reason within [`MAX_CLOSE_REASON`].
pub fn encode_close_payload(out: &mut Vec<u8>, code: Option<CloseCode>, reason: &str) {
    if let Some(code) = code {
        out.extend_from_slice(&code.0.to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_rfc_6455_and_the_iana_registry() {
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ];
        let invalid = [
            0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ];
        for code in valid {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in invalid {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
        // Exhaustive: exactly the ranges above.
        let count = (0..=u16::MAX)
            .filter(|&c| CloseCode(c).is_valid_on_wire())
            .count();
        assert_eq!(count, 4 + 8 + 2000);
    }

    #[test]
    fn parses_close_payloads() {
        type Case = (
            &'static [u8],
            Result<(Option<u16>, &'static str), (Error, usize)>,
        );
        let cases: &[Case] = &[
            (b"", Ok((None, ""))),
            (b"\x03\xe8", Ok((Some(1000), ""))),
            (b"\x0f\xa0app", Ok((Some(4000), "app"))),
            (
                b"\x03\xe9\xce\xba\xe1\xbd\xb9",
                Ok((Some(1001), "κ\u{1f79}")),
            ),
            (b"\x03", Err((Error::CloseTooShort, 0))),
            (b"\x03\xed", Err((Error::InvalidCloseCode, 0))), // 1005
            (b"\x00\x00", Err((Error::InvalidCloseCode, 0))),
            (b"\x13\x88", Err((Error::InvalidCloseCode, 0))), // 5000
            (
                b"\x03\xe8a\xed\xa0\x80",
                Err((Error::InvalidCloseReason, 4)),
            ),
            (b"\x03\xe8\xc3", Err((Error::InvalidCloseReason, 3))),
        ];
        for (payload, expected) in cases {
            let got = ClosePayload::parse_at(payload).map(|c| (c.code.map(|c| c.0), c.reason));
            assert_eq!(&got, expected, "{payload:02x?}");
        }
    }

    #[test]
    fn encoding_round_trips() {
        let mut out = Vec::new();
        encode_close_payload(&mut out, Some(CloseCode::GOING_AWAY), "shutdown");
        let close = ClosePayload::parse(&out).unwrap();
        assert_eq!(close.code, Some(CloseCode::GOING_AWAY));
        assert_eq!(close.reason, "shutdown");
        out.clear();
        encode_close_payload(&mut out, None, "ignored without a code");
        assert!(out.is_empty());
    }
}
