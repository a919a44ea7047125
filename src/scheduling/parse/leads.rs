//! Reminder leads (`/reminders set lead:`): up to three durations before a session, such as
//! `24h, 1h, 15m`, each from 5 minutes to 7 days; `off` for none.

use chrono::Duration;

use super::error::{Field, ParseError};
use super::text::{number, pieces, quoted, squash, trimmed_within};

/// Most leads a user may set.
pub const MAX_LEADS: usize = 3;
/// The shortest lead.
pub const MIN_LEAD: Duration = Duration::minutes(5);
/// The longest lead.
pub const MAX_LEAD: Duration = Duration::days(7);
/// Longest `lead` text, in characters.
const MAX_LEAD_CHARS: usize = 60;

/// Reads leads, longest first, without repeats; `off` (or `none`) is no reminders.
pub fn parse_leads(text: &str) -> Result<Vec<Duration>, ParseError> {
    let text = trimmed_within(text, Field::Leads, MAX_LEAD_CHARS)?;
    if matches!(squash(text).as_str(), "off" | "none") {
        return Ok(Vec::new());
    }
    let mut leads = Vec::new();
    for piece in pieces(text) {
        let lead = parse_lead(piece)?;
        if !(MIN_LEAD..=MAX_LEAD).contains(&lead) {
            return Err(ParseError::LeadOutOfRange {
                token: quoted(piece),
            });
        }
        leads.push(lead);
    }
    leads.sort_by(|a, b| b.cmp(a));
    leads.dedup();
    if leads.len() > MAX_LEADS {
        return Err(ParseError::TooManyLeads {
            count: leads.len(),
            max: MAX_LEADS,
        });
    }
    if leads.is_empty() {
        return Err(ParseError::Empty {
            field: Field::Leads,
        });
    }
    Ok(leads)
}

/// One lead: a whole number and a unit (`m`/`min`, `h`/`hr`, `d`/`day`, plurals too).
fn parse_lead(piece: &str) -> Result<Duration, ParseError> {
    let squashed = squash(piece);
    let split = squashed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(squashed.len());
    let (digits, unit) = squashed.split_at(split);
    let unreadable = || ParseError::UnreadableLead {
        token: quoted(piece),
    };
    let n: i64 = number(digits, 1, 5).ok_or_else(unreadable)?;
    match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => Ok(Duration::minutes(n)),
        "h" | "hr" | "hrs" | "hour" | "hours" => Ok(Duration::hours(n)),
        "d" | "day" | "days" => Ok(Duration::days(n)),
        _ => Err(unreadable()),
    }
}

/// Leads as users write them, longest first (`24h, 15m`; `off` when there are none).
pub fn format_leads(leads: &[Duration]) -> String {
    if leads.is_empty() {
        return "off".to_owned();
    }
    leads
        .iter()
        .map(|lead| {
            let minutes = lead.num_minutes();
            if minutes % 1440 == 0 {
                format!("{}d", minutes / 1440)
            } else if minutes % 60 == 0 {
                format!("{}h", minutes / 60)
            } else {
                format!("{minutes}m")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(list: &[i64]) -> Vec<Duration> {
        list.iter().map(|m| Duration::minutes(*m)).collect()
    }

    #[test]
    fn leads_are_read_in_any_order_and_unit_and_kept_longest_first() {
        assert_eq!(parse_leads("24h, 1h, 15m"), Ok(mins(&[1440, 60, 15])));
        assert_eq!(parse_leads("15 min; 2 days"), Ok(mins(&[2880, 15])));
        assert_eq!(parse_leads("1h,60m"), Ok(mins(&[60])));
        assert_eq!(parse_leads(" 5m "), Ok(mins(&[5])));
        assert_eq!(parse_leads("7d"), Ok(mins(&[10080])));
        assert_eq!(parse_leads("OFF"), Ok(vec![]));
        assert_eq!(parse_leads("none"), Ok(vec![]));
    }

    #[test]
    fn leads_outside_five_minutes_to_a_week_or_too_many_are_refused_with_the_reason() {
        assert!(matches!(
            parse_leads("4m"),
            Err(ParseError::LeadOutOfRange { .. })
        ));
        assert!(matches!(
            parse_leads("8d"),
            Err(ParseError::LeadOutOfRange { .. })
        ));
        assert!(matches!(
            parse_leads("169h"),
            Err(ParseError::LeadOutOfRange { .. })
        ));
        assert_eq!(
            parse_leads("1d, 2h, 1h, 15m"),
            Err(ParseError::TooManyLeads { count: 4, max: 3 })
        );
        for junk in ["soon", "15", "h", "1.5h", "-15m", "15m`@everyone`"] {
            assert!(
                matches!(parse_leads(junk), Err(ParseError::UnreadableLead { .. })),
                "{junk}: {:?}",
                parse_leads(junk)
            );
        }
        assert!(matches!(parse_leads(""), Err(ParseError::Empty { .. })));
        assert!(matches!(parse_leads(",,"), Err(ParseError::Empty { .. })));
        let message = parse_leads("15m`x").unwrap_err().to_string();
        assert!(message.starts_with("`15m'x`"), "{message}");
    }

    #[test]
    fn leads_are_written_back_as_typed_in_the_largest_whole_unit() {
        assert_eq!(format_leads(&mins(&[1440, 90, 15])), "1d, 90m, 15m");
        assert_eq!(format_leads(&mins(&[120])), "2h");
        assert_eq!(format_leads(&[]), "off");
    }
}
