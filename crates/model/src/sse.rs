//! An incremental Server-Sent Events parser: bytes in (split anywhere, even inside a UTF-8
//! sequence), complete events out. Sans-IO, shared by the streaming providers.

/// One SSE event: its `event:` name (empty when absent) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Collects bytes and hands out complete events.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buffer: Vec<u8>,
    event: String,
    data: Vec<String>,
    /// A `\r` ended the last line; a following `\n` belongs to it.
    after_carriage_return: bool,
}

impl SseParser {
    /// Feed a chunk; returns every event completed by it, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_carriage_return {
                self.after_carriage_return = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.after_carriage_return = byte == b'\r';
                    let line = std::mem::take(&mut self.buffer);
                    if let Some(event) = self.line(&line) {
                        events.push(event);
                    }
                }
                _ => self.buffer.push(byte),
            }
        }
        events
    }

    /// Whether bytes of an unfinished event are pending (the stream stopped mid-event).
    #[cfg(test)]
    pub fn has_partial_event(&self) -> bool {
        !self.buffer.is_empty() || !self.data.is_empty()
    }

    fn line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            if self.data.is_empty() {
                self.event.clear();
                return None;
            }
            let event = SseEvent {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data).join("\n"),
            };
            return Some(event);
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => self.data.push(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(bytes: &[u8], piece_len: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for piece in bytes.chunks(piece_len) {
            events.extend(parser.push(piece));
        }
        assert!(!parser.has_partial_event());
        events
    }

    #[test]
    fn events_are_the_same_whatever_the_chunking() {
        let text = "event: message_start\ndata: {\"a\":\"é\"}\n\n: comment\n\ndata: one\r\ndata: two\r\n\r\ndata:[DONE]\n\n";
        let whole = parse_in_pieces(text.as_bytes(), text.len());
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: "message_start".into(),
                    data: "{\"a\":\"é\"}".into()
                },
                SseEvent {
                    event: String::new(),
                    data: "one\ntwo".into()
                },
                SseEvent {
                    event: String::new(),
                    data: "[DONE]".into()
                },
            ]
        );
        for piece_len in 1..8 {
            assert_eq!(
                parse_in_pieces(text.as_bytes(), piece_len),
                whole,
                "piece length {piece_len}"
            );
        }
    }

    #[test]
    fn an_unfinished_event_is_reported_as_partial() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"data: {\"half\":").is_empty());
        assert!(parser.has_partial_event());
    }
}
