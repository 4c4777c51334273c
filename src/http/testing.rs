//! The one split-invariance helper that every parser test goes through (h11's `tr`): an
//! input is fed whole, byte at a time, split at every point, split at seeded random points,
//! and with a following message behind it; every way must end the same, value or error
//! (kind and offset), with the same count of bytes consumed.

use std::fmt::Debug;

use super::{BodyDecoder, Error, Method, RequestParser, ResponseParser, Status, Trailers};
use crate::fuzzing::{chunks, splits};

/// How feeding an input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome<T> {
    /// A value, after `consumed` bytes.
    Complete { value: T, consumed: usize },
    /// The input ran out first.
    Partial,
    /// The peer broke a rule.
    Failed(Error),
}

impl<T> Outcome<T> {
    /// The value, or a panic naming what happened instead.
    pub(crate) fn value(self) -> T
    where
        T: Debug,
    {
        match self {
            Self::Complete { value, .. } => value,
            Self::Partial => panic!("expected a value, got Partial"),
            Self::Failed(e) => panic!("expected a value, got {e:?}"),
        }
    }
}

/// A parser as the tests drive it, the way a connection would: offered the bytes not yet
/// consumed, it answers how many it consumed and, once finished, its value.
pub(crate) trait Feed {
    type Value: Debug + PartialEq;
    fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<Self::Value>), Error>;
    /// The input ended without a value: `Ok(None)` is Partial.
    fn end(&mut self) -> Result<Option<Self::Value>, Error> {
        Ok(None)
    }
}

impl Feed for RequestParser {
    type Value = super::RequestHead;
    fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<Self::Value>), Error> {
        Ok(match self.parse(buf)? {
            Status::Complete { value, consumed } => (consumed, Some(value)),
            Status::Partial => (0, None),
        })
    }
}

/// A response parser answering a request with this method.
pub(crate) struct Responding(pub(crate) ResponseParser, pub(crate) Method);

impl Feed for Responding {
    type Value = super::ResponseHead;
    fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<Self::Value>), Error> {
        Ok(match self.0.parse(buf, self.1)? {
            Status::Complete { value, consumed } => (consumed, Some(value)),
            Status::Partial => (0, None),
        })
    }
}

/// A body decoder that collects the payload it hands out. With `at_eof`, the end of the
/// input is the end of the stream ([`BodyDecoder::finish`]); without, it is Partial.
pub(crate) struct Decoding {
    pub(crate) decoder: BodyDecoder,
    pub(crate) payload: Vec<u8>,
    pub(crate) at_eof: bool,
}

impl Decoding {
    pub(crate) fn new(decoder: BodyDecoder, at_eof: bool) -> Self {
        Self {
            decoder,
            payload: Vec::new(),
            at_eof,
        }
    }
}

impl Feed for Decoding {
    /// The payload and the trailer section.
    type Value = (Vec<u8>, Option<Trailers>);
    fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<Self::Value>), Error> {
        let progress = self.decoder.decode(buf)?;
        assert!(progress.consumed <= buf.len(), "consumed past the buffer");
        assert!(
            progress.data.end <= progress.consumed,
            "data outside what was consumed"
        );
        self.payload.extend_from_slice(&buf[progress.data]);
        let value = progress.done.then(|| {
            (
                std::mem::take(&mut self.payload),
                self.decoder.take_trailers(),
            )
        });
        Ok((progress.consumed, value))
    }

    fn end(&mut self) -> Result<Option<Self::Value>, Error> {
        if !self.at_eof {
            return Ok(None);
        }
        self.decoder.finish()?;
        Ok(Some((
            std::mem::take(&mut self.payload),
            self.decoder.take_trailers(),
        )))
    }
}

/// Feeds `pieces` one after another, as a connection would: append, offer everything not
/// yet consumed, drain what was consumed, repeat while there is progress.
pub(crate) fn drive<F: Feed>(mut parser: F, pieces: &[&[u8]]) -> Outcome<F::Value> {
    let mut buf = Vec::new();
    let mut consumed = 0;
    // A connection offers what it has as soon as the previous message ends, maybe nothing.
    for piece in std::iter::once(&&b""[..]).chain(pieces) {
        buf.extend_from_slice(piece);
        loop {
            match parser.feed(&buf) {
                Err(e) => return Outcome::Failed(e),
                Ok((n, value)) => {
                    assert!(n <= buf.len(), "consumed {n} of {} bytes", buf.len());
                    buf.drain(..n);
                    consumed += n;
                    if let Some(value) = value {
                        return Outcome::Complete { value, consumed };
                    }
                    if n == 0 || buf.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    match parser.end() {
        Ok(Some(value)) => Outcome::Complete { value, consumed },
        Ok(None) => Outcome::Partial,
        Err(e) => Outcome::Failed(e),
    }
}

/// Feeds `input` every way (see the module doc), then once more with `tail` behind it, and
/// returns the one outcome they all share. `make` builds a fresh parser for each way.
pub(crate) fn check<F: Feed>(input: &[u8], tail: &[u8], make: impl Fn() -> F) -> Outcome<F::Value> {
    let whole = drive(make(), &[input]);
    for pieces in splits(input.len(), 16, input.len() as u64) {
        let got = drive(make(), &chunks(input, &pieces));
        assert_eq!(got, whole, "fed in pieces {pieces:?}");
    }
    // A message that follows must not change how this one ends.
    if whole != Outcome::Partial {
        let mut followed = input.to_vec();
        followed.extend_from_slice(tail);
        for pieces in splits(followed.len(), 4, 7).into_iter().take(2) {
            let got = drive(make(), &chunks(&followed, &pieces));
            assert_eq!(got, whole, "followed by {tail:?}, fed in pieces {pieces:?}");
        }
        for at in [input.len().saturating_sub(1), input.len()] {
            let (a, b) = followed.split_at(at);
            let got = drive(make(), &[a, b]);
            assert_eq!(got, whole, "followed by {tail:?}, split at {at}");
        }
    }
    whole
}

/// The next request in a pipeline, used as the tail for request and body cases.
pub(crate) const NEXT_REQUEST: &[u8] = b"GET /next HTTP/1.1\r\nHost: next\r\n\r\n";
