//! [`Message`], a message as the user sees it, with helpers to find its buttons, selects and
//! text.

use serde_json::Value;

/// A message as the user sees it.
#[derive(Clone, Debug)]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Channel it is in.
    pub channel_id: u64,
    /// Text content.
    pub content: String,
    /// Embed objects as Discord echoes them.
    pub embeds: Vec<Value>,
    /// Component rows.
    pub components: Vec<Value>,
    /// Only the invoking user sees it (flag 64).
    pub ephemeral: bool,
    /// The full message object.
    pub raw: Value,
}

/// Every component of action rows `rows`, in order.
pub(crate) fn components_in(rows: &[Value]) -> impl Iterator<Item = &Value> {
    rows.iter()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
}

impl Message {
    /// Reads a message object as Discord sends it.
    pub(crate) fn from_raw(raw: Value) -> Message {
        let list = |key: &str| raw[key].as_array().cloned().unwrap_or_default();
        Message {
            id: raw["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
            channel_id: raw["channel_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            content: raw["content"].as_str().unwrap_or_default().to_string(),
            embeds: list("embeds"),
            components: list("components"),
            ephemeral: raw["flags"].as_u64().unwrap_or(0) & 64 != 0,
            raw,
        }
    }

    fn all_components(&self) -> impl Iterator<Item = &Value> {
        components_in(&self.components)
    }

    /// Every button: `(label, custom_id or url for link buttons, disabled)`.
    pub fn buttons(&self) -> Vec<(String, String, bool)> {
        self.all_components()
            .filter(|c| c["type"] == 2)
            .map(|c| {
                let target = c["custom_id"].as_str().or(c["url"].as_str());
                (
                    c["label"].as_str().unwrap_or_default().to_string(),
                    target.unwrap_or_default().to_string(),
                    c["disabled"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    /// The custom id (or url) of the first button whose label contains `label_part`.
    pub fn button_id(&self, label_part: &str) -> Option<String> {
        self.buttons()
            .into_iter()
            .find(|(label, _, _)| label.contains(label_part))
            .map(|(_, id, _)| id)
    }

    /// Custom ids of every select menu.
    pub fn selects(&self) -> Vec<String> {
        self.all_components()
            .filter(|c| (3..=8).contains(&c["type"].as_u64().unwrap_or(0)) && c["type"] != 4)
            .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
            .collect()
    }

    /// `(label, value)` of each option of the string select `custom_id`.
    pub fn select_options(&self, custom_id: &str) -> Vec<(String, String)> {
        self.all_components()
            .filter(|c| c["type"] == 3 && c["custom_id"] == custom_id)
            .flat_map(|c| c["options"].as_array().cloned().unwrap_or_default())
            .map(|o| {
                (
                    o["label"].as_str().unwrap_or_default().to_string(),
                    o["value"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Content plus embed titles, descriptions, field names and values, footers and authors,
    /// one per line: what a reader sees, for `contains` asserts.
    pub fn text(&self) -> String {
        let mut parts = vec![self.content.clone()];
        for e in &self.embeds {
            for v in [&e["author"]["name"], &e["title"], &e["description"]] {
                if let Some(s) = v.as_str() {
                    parts.push(s.to_string());
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                for v in [&f["name"], &f["value"]] {
                    if let Some(s) = v.as_str() {
                        parts.push(s.to_string());
                    }
                }
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                parts.push(s.to_string());
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }

    /// [`Message::text`] as a reader sees it: Markdown escapes resolved.
    pub fn shown(&self) -> String {
        crate::markdown::unescape(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn message_helpers_read_buttons_selects_and_text() {
        let m = Message::from_raw(json!({
            "id": "5", "channel_id": "6", "content": "Pick a slot", "flags": 64,
            "embeds": [{"title": "Monday", "description": "<t:1:F>", "fields": [{"name": "Mentor", "value": "Ann"}], "footer": {"text": "Europe/Berlin"}}],
            "components": [
                {"type": 1, "components": [{"type": 3, "custom_id": "slot", "options": [{"label": "09:00", "value": "a"}]}]},
                {"type": 1, "components": [
                    {"type": 2, "style": 2, "label": "◀ Previous day", "custom_id": "prev"},
                    {"type": 2, "style": 1, "label": "Confirm 09:00", "custom_id": "ok", "disabled": true},
                    {"type": 2, "style": 5, "label": "Help", "url": "https://example.org"}
                ]}
            ]
        }));
        assert!(m.ephemeral);
        assert_eq!(m.selects(), vec!["slot".to_string()]);
        assert_eq!(
            m.select_options("slot"),
            vec![("09:00".to_string(), "a".to_string())]
        );
        assert_eq!(m.button_id("Confirm"), Some("ok".to_string()));
        assert_eq!(
            m.buttons()[2],
            ("Help".to_string(), "https://example.org".to_string(), false)
        );
        assert!(m.buttons()[1].2);
        assert_eq!(
            m.text(),
            "Pick a slot\nMonday\n<t:1:F>\nMentor\nAnn\nEurope/Berlin"
        );
    }
}
