//! W3C Trace Context (`traceparent`): an event published with one carries its trace to
//! every webhook request made for it, each attempt a span of its own whose parent is the
//! event's span. Pure: parsing, checking and deriving the child header.
//!
//! `traceparent: 00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`, lowercase;
//! an all-zero trace or span id is invalid. A header of a later version is read by its
//! first four fields, as the specification asks, and answered in version `00`.

use std::fmt;

/// A parsed `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
}

impl TraceParent {
    /// Reads a `traceparent` header value; `None` when it is not a valid one (it is then
    /// ignored, as the specification asks, and no trace is carried).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let mut fields = value.split('-');
        let version = fields.next()?;
        let trace_id = fields.next()?;
        let span_id = fields.next()?;
        let flags = fields.next()?;
        let rest = fields.next();
        let version = lower_hex::<1>(version)?[0];
        // Version ff is forbidden; 00 has exactly four fields; later versions may add some.
        if version == 0xff || (version == 0 && rest.is_some()) {
            return None;
        }
        let parsed = Self {
            trace_id: lower_hex::<16>(trace_id)?,
            span_id: lower_hex::<8>(span_id)?,
            flags: lower_hex::<1>(flags)?[0],
        };
        let valid = parsed.trace_id != [0; 16] && parsed.span_id != [0; 8];
        valid.then_some(parsed)
    }

    /// The same trace with `span_id` as the parent span: the header for a request made in
    /// a new span. An all-zero `span_id` is replaced by one (it would be invalid).
    #[must_use]
    pub fn child(&self, span_id: [u8; 8]) -> Self {
        Self {
            span_id: if span_id == [0; 8] {
                [0, 0, 0, 0, 0, 0, 0, 1]
            } else {
                span_id
            },
            ..*self
        }
    }

    /// The trace id, 32 lowercase hex digits.
    #[must_use]
    pub fn trace_id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The (parent) span id, 16 lowercase hex digits.
    #[must_use]
    pub fn span_id(&self) -> String {
        hex::encode(self.span_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            self.flags
        )
    }
}

/// `N` bytes from exactly `2 * N` lowercase hex digits.
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0_u8; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the W3C Trace Context recommendation.
    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_specifications_example() {
        let parent = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.span_id(), "00f067aa0ba902b7");
        assert_eq!(parent.to_string(), EXAMPLE);
        assert_eq!(TraceParent::parse(&format!(" {EXAMPLE} ")), Some(parent));
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_span() {
        let parent = TraceParent::parse(EXAMPLE).unwrap();
        let child = parent.child([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            child.to_string(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01"
        );
        assert_ne!(parent.child([0; 8]).span_id(), "0000000000000000");
    }

    #[test]
    fn invalid_headers_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields_and_answered_in_00() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds";
        let parent = TraceParent::parse(later).unwrap();
        assert_eq!(parent.to_string(), EXAMPLE);
    }
}
