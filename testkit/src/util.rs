//! Small helpers: snowflakes, timestamps, multipart bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

static LAST_SNOWFLAKE: AtomicU64 = AtomicU64::new(0);

/// A new snowflake, unique in this process and increasing, whose timestamp part is now (so
/// serenity's `created_at()` gives sensible values).
pub(crate) fn snowflake() -> u64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let base = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
    let mut last = LAST_SNOWFLAKE.load(Ordering::Relaxed);
    loop {
        let next = base.max(last + 1);
        match LAST_SNOWFLAKE.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

/// Now as an RFC 3339 timestamp with milliseconds, as Discord writes them.
pub(crate) fn timestamp_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_millis())
}

/// Formats Unix seconds (UTC) as `YYYY-MM-DDTHH:MM:SS.mmm+00:00`.
pub(crate) fn rfc3339(unix_secs: i64, millis: u32) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}+00:00",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// A random-looking interaction token (Discord's are long opaque strings).
pub(crate) fn token(id: u64) -> String {
    let mut x = id ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = String::from("aW50ZXJhY3Rpb246");
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016x}"));
    }
    out
}

/// The parts of a `multipart/form-data` body that matter here: the `payload_json` part and the
/// names of attached files.
pub(crate) struct Multipart {
    pub payload_json: Option<Vec<u8>>,
    pub file_names: Vec<String>,
    /// Each file's name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Parses a `multipart/form-data` body (as serenity sends messages with attachments).
pub(crate) fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Multipart> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut out = Multipart {
        payload_json: None,
        file_names: Vec::new(),
        files: Vec::new(),
    };
    let mut rest = body;
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(end) = find(rest, &delimiter) else {
            break;
        };
        let part = &rest[..end];
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        if headers.contains("name=\"payload_json\"") {
            out.payload_json = Some(content.to_vec());
        } else if let Some(i) = headers.find("filename=\"") {
            let name = headers[i + 10..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_string();
            out.file_names.push(name.clone());
            out.files.push((name, content.to_vec()));
        }
    }
    Some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(rfc3339(1_709_210_096, 7), "2024-02-29T12:34:56.007+00:00");
    }

    #[test]
    fn snowflakes_increase_and_carry_the_time() {
        let a = snowflake();
        let b = snowflake();
        assert!(b > a);
        assert!(a >> 22 > 300_000_000_000, "timestamp part is after 2024");
    }

    #[test]
    fn multipart_yields_the_payload_json_and_file_names() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.ics\"\r\nContent-Type: text/calendar\r\n\r\nBEGIN\r\n--XyZ--\r\n";
        let parsed = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parsed.payload_json.unwrap(), b"{\"content\":\"hi\"}");
        assert_eq!(parsed.file_names, vec!["a.ics".to_string()]);
    }
}
