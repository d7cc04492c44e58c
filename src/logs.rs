//! The text log line when standard error is not a terminal (a file, a pipe, a
//! journal): the line tracing-subscriber's default format writes without colour —
//! `TIME LEVEL span{fields}: target: message field=value …` — written by plain string
//! pushes. The default format passes every name, `=` and `:` through a colour wrapper
//! even when colour is off, which made the one line a request logs a fifth of a GET's
//! instructions. A terminal keeps the default, coloured format.

use std::cell::RefCell;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The line of an event: time, level, the spans it is in with their fields, target,
/// message and fields.
pub struct PlainLines;

/// Fields as `name=value`, separated by spaces; the message bare, first.
pub struct PlainFields;

impl<S, N> FormatEvent<S, N> for PlainLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if write_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

thread_local! {
    /// The second last written by this thread, and its text up to the fraction
    /// (`2026-12-02T15:01:19.`): the date is formatted once a second, not per line.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// The time as the default format writes it: RFC 3339 in UTC with microseconds.
fn write_time(writer: &mut Writer<'_>) -> fmt::Result {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| fmt::Error)?;
    let secs = now.as_secs();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            let time = i64::try_from(secs)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .ok_or(fmt::Error)?;
            text.clear();
            write!(text, "{}", time.format("%Y-%m-%dT%H:%M:%S."))?;
            *second = secs;
        }
        writer.write_str(text)
    })?;
    write!(writer, "{:06}Z", now.subsec_micros())
}

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// The separator before a field, and its name and `=` unless it is the message.
    fn start(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        match field.name() {
            "message" => Ok(()),
            name => {
                self.writer
                    .write_str(name.strip_prefix("r#").unwrap_or(name))?;
                self.writer.write_char('=')
            }
        }
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        self.result = self.start(field).and_then(|()| {
            if field.name() == "message" {
                write_escaped(&mut self.writer, value)
            } else {
                write!(self.writer, "{value:?}")
            }
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.result = self.start(field).and_then(|()| {
            if field.name() == "message" {
                let mut escaping = Escaping(&mut self.writer);
                write!(escaping, "{value:?}")
            } else {
                write!(self.writer, "{value:?}")
            }
        });
    }
}

/// A message with the characters that could drive a terminal (ESC, BEL, BS, FF, DEL
/// and the C1 controls) written as escapes, as the default format does.
fn write_escaped(writer: &mut impl Write, text: &str) -> fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(|c: char| {
        matches!(
            c,
            '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' | '\u{80}'..='\u{9f}'
        )
    }) {
        writer.write_str(&rest[..i])?;
        let c = rest[i..].chars().next().unwrap_or_default();
        match c {
            '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' => {
                write!(writer, "\\x{:02x}", u32::from(c))?
            }
            _ => write!(writer, "\\u{{{:x}}}", u32::from(c))?,
        }
        rest = &rest[i + c.len_utf8()..];
    }
    writer.write_str(rest)
}

/// A writer that escapes what it is given ([`write_escaped`]).
struct Escaping<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What `log` writes through `subscriber`, without the time before the level.
    fn lines(
        subscriber: impl Subscriber + Send + Sync,
        out: &Captured,
        log: impl FnOnce(),
    ) -> String {
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| line.split_once(' ').unwrap().1)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn request_log() {
        let span = tracing::info_span!(
            "request",
            tracking_id = %"abc",
            method = %"GET",
            path = %"/v3/access-profiles/x",
            client_id = tracing::field::Empty,
        );
        span.record("client_id", "bench");
        span.in_scope(|| {
            tracing::info!(status = 200u16, elapsed_ms = 0.5, "request finished");
            tracing::warn!(error = %"disk full", "a write failed: \x1b[31m");
        });
        tracing::info!(count = -3i64, ok = true, "outside any span");
    }

    #[test]
    fn the_plain_line_is_the_default_format_without_colour() {
        let plain = Captured::default();
        let default = Captured::default();
        let ours = lines(
            tracing_subscriber::fmt()
                .with_writer(plain.clone())
                .with_ansi(false)
                .event_format(PlainLines)
                .fmt_fields(PlainFields)
                .finish(),
            &plain,
            request_log,
        );
        let theirs = lines(
            tracing_subscriber::fmt()
                .with_writer(default.clone())
                .with_ansi(false)
                .finish(),
            &default,
            request_log,
        );
        assert_eq!(ours, theirs);
        // The time is RFC 3339 in UTC with microseconds, as the default writes it.
        let raw = String::from_utf8(plain.0.lock().unwrap().clone()).unwrap();
        for line in raw.lines() {
            let time = line.split(' ').next().unwrap();
            assert_eq!(time.len(), "2026-12-02T15:01:19.264623Z".len(), "{line}");
            chrono::DateTime::parse_from_rfc3339(time).unwrap();
        }
        assert!(ours.contains(
            "INFO request{tracking_id=abc method=GET path=/v3/access-profiles/x client_id=\"bench\"}: "
        ));
        assert!(ours.contains("a write failed: \\x1b[31m"), "{ours}");
    }
}
