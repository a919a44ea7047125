//! Acting on the bot's messages as a user: button clicks (also forged ones, as a modified
//! client sends them), select menus and modal submissions.

use serde_json::{Value, json};

use crate::fake::FakeDiscord;
use crate::interaction::{InteractionKind, Outgoing};
use crate::message::{Message, components_in};
use crate::pending::Pending;
use crate::people::FakeUser;

impl FakeDiscord {
    /// `who` clicks the button `custom_id` on `message` (its current version). The button
    /// must exist, be enabled and not be a link; `who` must be able to see the message.
    pub async fn click(&self, who: &FakeUser, message: &Message, custom_id: &str) -> Pending {
        let found = self.component(who, message, custom_id, |c| {
            if c["type"] != 2 {
                return Err("it is not a button".to_string());
            }
            if c["style"] == 5 {
                return Err("it is a link button (it opens a URL, no interaction)".to_string());
            }
            Ok(())
        });
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.send_component(who, message, custom_id, data, found)
    }

    /// `who` sends a button click with a `custom_id` that need not be on `message`, as a
    /// modified client could (forged or stale ids). `message` must still be visible to `who`
    /// and carry at least one enabled button, whose place (server, channel) the click reuses.
    pub async fn click_forged(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
    ) -> Pending {
        let enabled =
            |(_, id, disabled): &(String, String, bool)| !*disabled && !id.starts_with("http");
        let Some((_, real, _)) = message.buttons().into_iter().find(enabled) else {
            return Pending::failed(self, "the message has no button to forge from".to_string());
        };
        let found = self.component(who, message, &real, |_| Ok(()));
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.send_component(who, message, custom_id, data, found)
    }

    /// `who` picks `values` in the string select `custom_id` on `message`. The values must be
    /// options of the select and their number within `min_values..=max_values`.
    pub async fn select(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
        values: &[&str],
    ) -> Pending {
        let found = self.component(who, message, custom_id, |c| {
            if c["type"] != 3 {
                return Err("it is not a string select".to_string());
            }
            let options: Vec<&str> = c["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["value"].as_str())
                .collect();
            if let Some(v) = values.iter().find(|v| !options.contains(v)) {
                return Err(format!("{v:?} is not one of its options {options:?}"));
            }
            let min = c["min_values"].as_u64().unwrap_or(1) as usize;
            let max = c["max_values"].as_u64().unwrap_or(1) as usize;
            if values.len() < min || values.len() > max {
                return Err(format!(
                    "it takes {min}..={max} values, not {}",
                    values.len()
                ));
            }
            Ok(())
        });
        let data = json!({"custom_id": custom_id, "component_type": 3, "values": values});
        self.send_component(who, message, custom_id, data, found)
    }

    /// `who` submits the modal that the bot opened in answer to `opened` (callback type 9),
    /// filling text inputs by custom id; inputs left out are sent empty.
    pub async fn submit_modal(
        &self,
        who: &FakeUser,
        opened: &Pending,
        fields: &[(&str, &str)],
    ) -> Pending {
        let response = match opened.response().await {
            Ok(r) => r,
            Err(e) => return Pending::failed(self, e),
        };
        let Some(modal) = response.modal else {
            return Pending::failed(
                self,
                format!(
                    "the bot answered with callback type {}, not a modal",
                    response.kind
                ),
            );
        };
        let (guild, channel, source) = {
            let s = self.inner.lock();
            let i = &s.interactions[&opened.id];
            (i.guild_id, i.channel_id, i.source_message)
        };
        let mut rows = Vec::new();
        let mut known = Vec::new();
        for row in modal["components"].as_array().into_iter().flatten() {
            let mut inputs = Vec::new();
            for input in row["components"].as_array().into_iter().flatten() {
                let id = input["custom_id"].as_str().unwrap_or_default();
                known.push(id.to_string());
                let value = fields
                    .iter()
                    .find(|(k, _)| *k == id)
                    .map_or("", |(_, v)| *v);
                let len = value.chars().count() as u64;
                let required = input["required"].as_bool().unwrap_or(true);
                if required && value.is_empty() {
                    return Pending::failed(self, format!("modal input {id:?} is required"));
                }
                let min = input["min_length"].as_u64().unwrap_or(0);
                let max = input["max_length"].as_u64().unwrap_or(4000);
                if !value.is_empty() && (len < min || len > max) {
                    return Pending::failed(
                        self,
                        format!("modal input {id:?} takes {min}..={max} characters, not {len}"),
                    );
                }
                inputs.push(json!({"type": 4, "custom_id": id, "value": value}));
            }
            rows.push(json!({"type": 1, "components": inputs}));
        }
        if let Some((k, _)) = fields.iter().find(|(k, _)| !known.iter().any(|id| id == k)) {
            return Pending::failed(
                self,
                format!("the modal has no input {k:?} (it has {known:?})"),
            );
        }
        let custom_id = modal["custom_id"].as_str().unwrap_or_default().to_string();
        self.send(Outgoing {
            kind: InteractionKind::ModalSubmit,
            name: custom_id.clone(),
            who,
            guild,
            channel: Some(channel),
            data: json!({"custom_id": custom_id, "components": rows}),
            source,
            target_user: None,
        })
    }

    /// Where the component `custom_id` on `message` is, `(server, channel)`, if `who` can
    /// use it: the message is current and visible to them, and the component is there,
    /// enabled, and passes `check`.
    fn component(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
        check: impl FnOnce(&Value) -> Result<(), String>,
    ) -> Result<(Option<u64>, u64), String> {
        let s = self.inner.lock();
        let stored = s
            .messages
            .get(&message.id)
            .filter(|m| !m.deleted)
            .ok_or_else(|| format!("message {} no longer exists", message.id))?;
        if stored.visible_to.is_some_and(|u| u != who.id) {
            return Err(format!(
                "{} cannot see message {} (it is ephemeral or someone else's DM)",
                who.name, message.id
            ));
        }
        let rows = stored.raw["components"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let component = components_in(rows)
            .find(|c| c["custom_id"] == custom_id)
            .cloned()
            .ok_or_else(|| {
                let current = Message::from_raw(stored.raw.clone());
                format!(
                    "message {} has no component {custom_id:?} now (buttons {:?}, selects {:?})",
                    message.id,
                    current.buttons(),
                    current.selects()
                )
            })?;
        if component["disabled"] == true {
            return Err(format!("component {custom_id:?} is disabled"));
        }
        check(&component).map_err(|e| format!("component {custom_id:?}: {e}"))?;
        Ok((stored.guild_id, stored.channel_id))
    }

    /// Sends the component interaction `data` from `message` to where `component` `found`
    /// it, or fails with `component`'s error.
    fn send_component(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
        data: Value,
        found: Result<(Option<u64>, u64), String>,
    ) -> Pending {
        match found {
            Ok((guild, channel)) => self.send(Outgoing {
                kind: InteractionKind::Component,
                name: custom_id.to_string(),
                who,
                guild,
                channel: Some(channel),
                data,
                source: Some(message.id),
                target_user: None,
            }),
            Err(e) => Pending::failed(self, e),
        }
    }
}
