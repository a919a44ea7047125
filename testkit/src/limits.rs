//! Discord's payload limits, checked the way Discord checks them: every violation becomes an
//! entry of a 400 `{"code": 50035, "message": "Invalid Form Body", "errors": {...}}` body whose
//! `errors` object is nested along the path of the offending field.

use serde_json::{Map, Value, json};

/// Violations collected while checking one request body.
#[derive(Debug, Default)]
pub(crate) struct FormErrors {
    errors: Vec<(String, &'static str, String)>,
}

impl FormErrors {
    pub(crate) fn push(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push((path.to_string(), code, message.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// One line per violation, for logs and test failures.
    pub(crate) fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|(path, code, message)| format!("{path}: {code} {message}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The Discord error body (code 50035).
    pub(crate) fn body(&self) -> Value {
        let mut root = Map::new();
        for (path, code, message) in &self.errors {
            let mut node = &mut root;
            for segment in path.split('.').filter(|s| !s.is_empty()) {
                node = node
                    .entry(segment.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("error tree nodes are objects");
            }
            let list = node
                .entry("_errors".to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(json!({"code": code, "message": message}));
            }
        }
        json!({"code": 50035, "message": "Invalid Form Body", "errors": root})
    }
}

fn join(prefix: &str, key: impl std::fmt::Display) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn check_len(errs: &mut FormErrors, path: &str, s: &str, min: usize, max: usize) {
    let n = s.chars().count();
    if n > max || n < min {
        if min == 0 {
            errs.push(
                path,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        } else {
            errs.push(
                path,
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {min} and {max} in length."),
            );
        }
    }
}

fn check_count(errs: &mut FormErrors, path: &str, n: usize, min: usize, max: usize) {
    if n > max {
        errs.push(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    } else if n < min {
        errs.push(
            path,
            "BASE_TYPE_MIN_LENGTH",
            format!("Must be {min} or more in length."),
        );
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn array_field<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Whether a message payload carries anything to show.
pub(crate) fn message_has_body(v: &Value, files: usize) -> bool {
    str_field(v, "content").is_some_and(|c| !c.is_empty())
        || !array_field(v, "embeds").is_empty()
        || !array_field(v, "components").is_empty()
        || v.get("poll").is_some_and(|p| !p.is_null())
        || v.get("sticker_ids").is_some_and(|p| !p.is_null())
        || files > 0
}

/// Checks a message payload (create, edit, interaction response data) at `prefix`.
pub(crate) fn check_message(v: &Value, prefix: &str, errs: &mut FormErrors) {
    if let Some(content) = str_field(v, "content") {
        check_len(errs, &join(prefix, "content"), content, 0, 2000);
    }
    let embeds = array_field(v, "embeds");
    check_count(errs, &join(prefix, "embeds"), embeds.len(), 0, 10);
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let p = join(prefix, format!("embeds.{i}"));
        total += check_embed(embed, &p, errs);
    }
    if total > 6000 {
        errs.push(
            &join(prefix, "embeds"),
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        );
    }
    let components = array_field(v, "components");
    check_count(errs, &join(prefix, "components"), components.len(), 0, 5);
    let mut ids = Vec::new();
    for (i, row) in components.iter().enumerate() {
        check_action_row(
            row,
            &join(prefix, format!("components.{i}")),
            errs,
            &mut ids,
            false,
        );
    }
    if let Some(flags) = v.get("flags").and_then(Value::as_u64) {
        // SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS; components v2 is not faked.
        let allowed = 4 | 64 | 4096;
        if flags & !allowed != 0 {
            errs.push(
                &join(prefix, "flags"),
                "MESSAGE_FLAGS_INVALID",
                format!("Invalid flags {flags} (this fake allows 4, 64 and 4096)"),
            );
        }
    }
}

/// Checks one embed; returns its size as Discord counts it toward the 6000 total.
fn check_embed(embed: &Value, p: &str, errs: &mut FormErrors) -> usize {
    let mut size = 0;
    for (key, max) in [("title", 256), ("description", 4096)] {
        if let Some(s) = str_field(embed, key) {
            check_len(errs, &join(p, key), s, 0, max);
            size += s.chars().count();
        }
    }
    let fields = array_field(embed, "fields");
    check_count(errs, &join(p, "fields"), fields.len(), 0, 25);
    for (i, field) in fields.iter().enumerate() {
        let fp = join(p, format!("fields.{i}"));
        let name = str_field(field, "name").unwrap_or_default();
        let value = str_field(field, "value").unwrap_or_default();
        check_len(errs, &join(&fp, "name"), name, 1, 256);
        check_len(errs, &join(&fp, "value"), value, 1, 1024);
        size += name.chars().count() + value.chars().count();
    }
    if let Some(text) = embed.get("footer").and_then(|f| str_field(f, "text")) {
        check_len(errs, &join(p, "footer.text"), text, 0, 2048);
        size += text.chars().count();
    }
    if let Some(name) = embed.get("author").and_then(|a| str_field(a, "name")) {
        check_len(errs, &join(p, "author.name"), name, 0, 256);
        size += name.chars().count();
    }
    for key in ["url", "image", "thumbnail"] {
        let url = match embed.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(obj) => str_field(obj, "url"),
            None => None,
        };
        if let Some(url) = url {
            check_url(errs, &join(p, key), url, 2048);
        }
    }
    size
}

fn check_url(errs: &mut FormErrors, path: &str, url: &str, max: usize) {
    check_len(errs, path, url, 1, max);
    if !(url.starts_with("https://")
        || url.starts_with("http://")
        || url.starts_with("discord://")
        || url.starts_with("attachment://"))
    {
        errs.push(
            path,
            "URL_TYPE_INVALID_URL",
            "Not a well formed URL (needs http://, https:// or discord://).",
        );
    }
}

fn check_custom_id(errs: &mut FormErrors, p: &str, c: &Value, ids: &mut Vec<String>) {
    let path = join(p, "custom_id");
    match str_field(c, "custom_id") {
        Some(id) => {
            check_len(errs, &path, id, 1, 100);
            if ids.iter().any(|seen| seen == id) {
                errs.push(
                    &path,
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                );
            }
            ids.push(id.to_string());
        }
        None => errs.push(&path, "BASE_TYPE_REQUIRED", "This field is required"),
    }
}

fn check_action_row(
    row: &Value,
    p: &str,
    errs: &mut FormErrors,
    ids: &mut Vec<String>,
    in_modal: bool,
) {
    if row.get("type").and_then(Value::as_u64) != Some(1) {
        errs.push(
            &join(p, "type"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "Top-level components must be action rows (type 1)",
        );
        return;
    }
    let children = array_field(row, "components");
    check_count(errs, &join(p, "components"), children.len(), 1, 5);
    let has_wide = children
        .iter()
        .any(|c| !matches!(c.get("type").and_then(Value::as_u64), Some(2)));
    if has_wide && children.len() > 1 {
        errs.push(
            &join(p, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        );
    }
    for (i, c) in children.iter().enumerate() {
        let cp = join(p, format!("components.{i}"));
        match c.get("type").and_then(Value::as_u64) {
            Some(2) if !in_modal => check_button(c, &cp, errs, ids),
            Some(3) if !in_modal => {
                check_select(c, &cp, errs, ids);
                let options = array_field(c, "options");
                check_count(errs, &join(&cp, "options"), options.len(), 1, 25);
                let mut values: Vec<&str> = Vec::new();
                for (j, o) in options.iter().enumerate() {
                    let op = join(&cp, format!("options.{j}"));
                    let label = str_field(o, "label").unwrap_or_default();
                    let value = str_field(o, "value").unwrap_or_default();
                    check_len(errs, &join(&op, "label"), label, 1, 100);
                    check_len(errs, &join(&op, "value"), value, 1, 100);
                    if let Some(d) = str_field(o, "description") {
                        check_len(errs, &join(&op, "description"), d, 0, 100);
                    }
                    if values.contains(&value) {
                        errs.push(
                            &join(&op, "value"),
                            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                            "Select component option values cannot be duplicated",
                        );
                    }
                    values.push(value);
                }
                let max = c.get("max_values").and_then(Value::as_u64).unwrap_or(1);
                if max as usize > options.len() {
                    errs.push(
                        &join(&cp, "max_values"),
                        "BASE_TYPE_MAX",
                        format!("Must be {} or fewer.", options.len()),
                    );
                }
            }
            Some(5..=8) if !in_modal => check_select(c, &cp, errs, ids),
            Some(4) if in_modal => check_text_input(c, &cp, errs, ids),
            other => errs.push(
                &join(&cp, "type"),
                "UNION_TYPE_CHOICES",
                format!("Value of field \"type\" must be one of the allowed component types here (got {other:?})"),
            ),
        }
    }
}

fn check_button(c: &Value, p: &str, errs: &mut FormErrors, ids: &mut Vec<String>) {
    let style = c.get("style").and_then(Value::as_u64).unwrap_or(0);
    if !(1..=5).contains(&style) {
        errs.push(
            &join(p, "style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2, 3, 4, 5}.",
        );
    }
    if let Some(label) = str_field(c, "label") {
        check_len(errs, &join(p, "label"), label, 0, 80);
    }
    let has_label = str_field(c, "label").is_some_and(|l| !l.is_empty());
    if !has_label && c.get("emoji").is_none_or(Value::is_null) {
        errs.push(
            p,
            "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
            "A button needs a label or an emoji",
        );
    }
    if style == 5 {
        match str_field(c, "url") {
            Some(url) => check_url(errs, &join(p, "url"), url, 512),
            None => errs.push(
                &join(p, "url"),
                "BUTTON_COMPONENT_URL_REQUIRED",
                "A link button needs a url",
            ),
        }
        if c.get("custom_id").is_some_and(|v| !v.is_null()) {
            errs.push(
                &join(p, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A link button cannot have a custom_id",
            );
        }
    } else {
        check_custom_id(errs, p, c, ids);
        if c.get("url").is_some_and(|v| !v.is_null()) {
            errs.push(
                &join(p, "url"),
                "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                "Only link buttons can have a url",
            );
        }
    }
}

fn check_select(c: &Value, p: &str, errs: &mut FormErrors, ids: &mut Vec<String>) {
    check_custom_id(errs, p, c, ids);
    if let Some(placeholder) = str_field(c, "placeholder") {
        check_len(errs, &join(p, "placeholder"), placeholder, 0, 150);
    }
    let min = c.get("min_values").and_then(Value::as_u64).unwrap_or(1);
    let max = c.get("max_values").and_then(Value::as_u64).unwrap_or(1);
    if min > 25 {
        errs.push(
            &join(p, "min_values"),
            "BASE_TYPE_MAX",
            "Must be 25 or fewer.",
        );
    }
    if !(1..=25).contains(&max) {
        errs.push(
            &join(p, "max_values"),
            "BASE_TYPE_BAD_INT",
            "Must be between 1 and 25.",
        );
    }
    if min > max {
        errs.push(
            &join(p, "min_values"),
            "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE",
            "min_values must be at most max_values",
        );
    }
}

fn check_text_input(c: &Value, p: &str, errs: &mut FormErrors, ids: &mut Vec<String>) {
    check_custom_id(errs, p, c, ids);
    check_len(
        errs,
        &join(p, "label"),
        str_field(c, "label").unwrap_or_default(),
        1,
        45,
    );
    if !matches!(c.get("style").and_then(Value::as_u64), Some(1 | 2)) {
        errs.push(
            &join(p, "style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2}.",
        );
    }
    for key in ["min_length", "max_length"] {
        if let Some(n) = c.get(key).and_then(Value::as_u64)
            && n > 4000
        {
            errs.push(
                &join(p, key),
                "BASE_TYPE_BAD_INT",
                "Must be between 0 and 4000.",
            );
        }
    }
    if let Some(v) = str_field(c, "value") {
        check_len(errs, &join(p, "value"), v, 0, 4000);
    }
    if let Some(v) = str_field(c, "placeholder") {
        check_len(errs, &join(p, "placeholder"), v, 0, 100);
    }
}

/// Checks the `data` of an autocomplete result (callback type 8).
pub(crate) fn check_choices(data: &Value, errs: &mut FormErrors) {
    let choices = array_field(data, "choices");
    check_count(errs, "data.choices", choices.len(), 0, 25);
    for (i, choice) in choices.iter().enumerate() {
        let p = format!("data.choices.{i}");
        check_len(
            errs,
            &join(&p, "name"),
            str_field(choice, "name").unwrap_or_default(),
            1,
            100,
        );
        match choice.get("value") {
            Some(Value::String(s)) => check_len(errs, &join(&p, "value"), s, 0, 100),
            Some(Value::Number(_)) => {}
            _ => errs.push(
                &join(&p, "value"),
                "BASE_TYPE_REQUIRED",
                "This field is required (a string or a number)",
            ),
        }
    }
}

/// Checks the `data` of a modal (callback type 9).
pub(crate) fn check_modal(data: &Value, errs: &mut FormErrors) {
    let mut ids = Vec::new();
    match str_field(data, "custom_id") {
        Some(id) => check_len(errs, "data.custom_id", id, 1, 100),
        None => errs.push(
            "data.custom_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ),
    }
    check_len(
        errs,
        "data.title",
        str_field(data, "title").unwrap_or_default(),
        1,
        45,
    );
    let rows = array_field(data, "components");
    check_count(errs, "data.components", rows.len(), 1, 5);
    for (i, row) in rows.iter().enumerate() {
        check_action_row(row, &format!("data.components.{i}"), errs, &mut ids, true);
    }
}

fn is_chat_input_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name.chars().all(|c| {
            c == '-' || c == '_' || c == '\'' || (c.is_alphanumeric() && !c.is_uppercase())
        })
}

/// Checks a bulk overwrite of application commands (`PUT .../commands`).
pub(crate) fn check_commands(list: &Value, errs: &mut FormErrors) {
    let Some(commands) = list.as_array() else {
        errs.push("", "BASE_TYPE_ARRAY", "Must be an array.");
        return;
    };
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut per_kind = [0usize; 4];
    for (i, cmd) in commands.iter().enumerate() {
        let p = i.to_string();
        let kind = cmd.get("type").and_then(Value::as_u64).unwrap_or(1);
        let name = str_field(cmd, "name").unwrap_or_default();
        if let Some(slot) = per_kind.get_mut(kind as usize) {
            *slot += 1;
        }
        match kind {
            1 => {
                if !is_chat_input_name(name) {
                    errs.push(
                        &join(&p, "name"),
                        "APPLICATION_COMMAND_INVALID_NAME",
                        format!("Command name {name:?} is invalid (1-32 lowercase letters, digits, - or _)"),
                    );
                }
                check_len(
                    errs,
                    &join(&p, "description"),
                    str_field(cmd, "description").unwrap_or_default(),
                    1,
                    100,
                );
                let mut size = name.chars().count()
                    + str_field(cmd, "description").map_or(0, |d| d.chars().count());
                check_options(
                    array_field(cmd, "options"),
                    &join(&p, "options"),
                    0,
                    errs,
                    &mut size,
                );
                if size > 4000 {
                    errs.push(
                        &p,
                        "APPLICATION_COMMAND_TOO_LARGE",
                        "Command exceeds maximum size (4000)",
                    );
                }
            }
            2 | 3 => {
                check_len(errs, &join(&p, "name"), name, 1, 32);
                if str_field(cmd, "description").is_some_and(|d| !d.is_empty()) {
                    errs.push(
                        &join(&p, "description"),
                        "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                        "Context menu commands cannot have a description",
                    );
                }
                if !array_field(cmd, "options").is_empty() {
                    errs.push(
                        &join(&p, "options"),
                        "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
                        "Context menu commands cannot have options",
                    );
                }
            }
            _ => errs.push(
                &join(&p, "type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3}.",
            ),
        }
        if seen.iter().any(|(k, n)| *k == kind && n == name) {
            errs.push(
                &join(&p, "name"),
                "APPLICATION_COMMAND_NAME_ALREADY_EXISTS",
                "Application command names must be unique",
            );
        }
        seen.push((kind, name.to_string()));
    }
    for (kind, max) in [(1, 100), (2, 15), (3, 15)] {
        if per_kind[kind] > max {
            errs.push(
                "",
                "APPLICATION_COMMANDS_TOO_MANY",
                format!("Maximum number of commands of type {kind} reached ({max})"),
            );
        }
    }
}

fn check_options(
    options: &[Value],
    p: &str,
    depth: usize,
    errs: &mut FormErrors,
    size: &mut usize,
) {
    check_count(errs, p, options.len(), 0, 25);
    let mut seen_optional = false;
    let mut names: Vec<&str> = Vec::new();
    for (i, o) in options.iter().enumerate() {
        let op = join(p, i);
        let kind = o.get("type").and_then(Value::as_u64).unwrap_or(0);
        let name = str_field(o, "name").unwrap_or_default();
        let description = str_field(o, "description").unwrap_or_default();
        *size += name.chars().count() + description.chars().count();
        if !is_chat_input_name(name) {
            errs.push(
                &join(&op, "name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Option name {name:?} is invalid (1-32 lowercase letters, digits, - or _)"),
            );
        }
        if names.contains(&name) {
            errs.push(
                &join(&op, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            );
        }
        names.push(name);
        check_len(errs, &join(&op, "description"), description, 1, 100);
        match kind {
            1 | 2 => {
                let allowed_here = (kind == 2 && depth == 0) || (kind == 1 && depth <= 1);
                if !allowed_here {
                    errs.push(
                        &join(&op, "type"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Sub-commands and groups cannot nest this deep",
                    );
                }
                let children = array_field(o, "options");
                if kind == 2
                    && children
                        .iter()
                        .any(|c| c.get("type").and_then(Value::as_u64) != Some(1))
                {
                    errs.push(
                        &join(&op, "options"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "A sub-command group may only contain sub-commands",
                    );
                }
                check_options(children, &join(&op, "options"), depth + 1, errs, size);
            }
            3..=11 => {
                if depth > 0
                    && options
                        .iter()
                        .any(|s| matches!(s.get("type").and_then(Value::as_u64), Some(1 | 2)))
                {
                    errs.push(
                        &op,
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "Sub-commands cannot be mixed with other options",
                    );
                }
                let required = o.get("required").and_then(Value::as_bool).unwrap_or(false);
                if required && seen_optional {
                    errs.push(
                        &join(&op, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    );
                }
                seen_optional |= !required;
                let choices = array_field(o, "choices");
                check_count(errs, &join(&op, "choices"), choices.len(), 0, 25);
                if !choices.is_empty() && !matches!(kind, 3 | 4 | 10) {
                    errs.push(
                        &join(&op, "choices"),
                        "APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED",
                        "Only string, integer and number options can have choices",
                    );
                }
                let autocomplete = o
                    .get("autocomplete")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if autocomplete && !choices.is_empty() {
                    errs.push(
                        &join(&op, "autocomplete"),
                        "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                        "Autocomplete cannot be set on an option with choices",
                    );
                }
                for (j, choice) in choices.iter().enumerate() {
                    let cp = join(&op, format!("choices.{j}"));
                    let cname = str_field(choice, "name").unwrap_or_default();
                    check_len(errs, &join(&cp, "name"), cname, 1, 100);
                    *size += cname.chars().count();
                    if let Some(v) = str_field(choice, "value") {
                        check_len(errs, &join(&cp, "value"), v, 1, 100);
                        *size += v.chars().count();
                    }
                }
                for key in ["min_length", "max_length"] {
                    if let Some(n) = o.get(key).and_then(Value::as_u64)
                        && n > 6000
                    {
                        errs.push(
                            &join(&op, key),
                            "BASE_TYPE_BAD_INT",
                            "Must be between 0 and 6000.",
                        );
                    }
                }
            }
            _ => errs.push(
                &join(&op, "type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of the option types 1-11.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(f: impl FnOnce(&mut FormErrors)) -> Value {
        let mut errs = FormErrors::default();
        f(&mut errs);
        errs.body()
    }

    #[test]
    fn content_over_2000_chars_is_named_in_the_error_tree() {
        let body = errors_of(|e| check_message(&json!({"content": "é".repeat(2001)}), "data", e));
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["data"]["content"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        let ok = errors_of(|e| check_message(&json!({"content": "é".repeat(2000)}), "data", e));
        assert_eq!(ok["errors"], json!({}));
    }

    #[test]
    fn embeds_are_checked_one_by_one_and_in_total() {
        let big = json!({"embeds": [
            {"title": "t".repeat(257), "description": "d".repeat(3000)},
            {"description": "d".repeat(3000)}
        ]});
        let body = errors_of(|e| check_message(&big, "", e));
        assert!(body["errors"]["embeds"]["0"]["title"]["_errors"].is_array());
        assert_eq!(
            body["errors"]["embeds"]["_errors"][0]["code"],
            "MAX_EMBED_SIZE_EXCEEDED"
        );
        let fields: Vec<Value> = (0..26)
            .map(|i| json!({"name": i.to_string(), "value": "v"}))
            .collect();
        let body = errors_of(|e| check_message(&json!({"embeds": [{"fields": fields}]}), "", e));
        assert!(body["errors"]["embeds"]["0"]["fields"]["_errors"].is_array());
    }

    #[test]
    fn components_respect_rows_ids_options_and_link_urls() {
        let row = |c: Value| json!({"type": 1, "components": [c]});
        let button = |id: &str| json!({"type": 2, "style": 1, "label": "x", "custom_id": id});
        let six_rows: Vec<Value> = (0..6).map(|i| row(button(&format!("b{i}")))).collect();
        let body = errors_of(|e| check_message(&json!({"components": six_rows}), "", e));
        assert!(body["errors"]["components"]["_errors"].is_array());

        let body = errors_of(|e| {
            check_message(
                &json!({"components": [row(button(&"x".repeat(101)))]}),
                "",
                e,
            )
        });
        assert!(
            body["errors"]["components"]["0"]["components"]["0"]["custom_id"]["_errors"].is_array()
        );

        let options: Vec<Value> = (0..26)
            .map(|i| json!({"label": "l", "value": i.to_string()}))
            .collect();
        let select = json!({"type": 3, "custom_id": "s", "options": options});
        let body = errors_of(|e| check_message(&json!({"components": [row(select)]}), "", e));
        assert!(
            body["errors"]["components"]["0"]["components"]["0"]["options"]["_errors"].is_array()
        );

        let link = json!({"type": 2, "style": 5, "label": "Connect", "url": format!("https://accounts.example/{}", "a".repeat(500))});
        let body = errors_of(|e| check_message(&json!({"components": [row(link)]}), "", e));
        assert!(body["errors"]["components"]["0"]["components"]["0"]["url"]["_errors"].is_array());

        let good = json!({"components": [row(button("a")), row(json!({"type": 3, "custom_id": "s", "options": [{"label": "l", "value": "v"}]}))]});
        assert_eq!(
            errors_of(|e| check_message(&good, "", e))["errors"],
            json!({})
        );
    }

    #[test]
    fn autocomplete_choices_are_limited_to_25_with_short_names_and_values() {
        let choices: Vec<Value> = (0..26)
            .map(|i| json!({"name": i.to_string(), "value": "v"}))
            .collect();
        let body = errors_of(|e| check_choices(&json!({"choices": choices}), e));
        assert!(body["errors"]["data"]["choices"]["_errors"].is_array());
        let body = errors_of(|e| {
            check_choices(
                &json!({"choices": [{"name": "", "value": "v".repeat(101)}]}),
                e,
            )
        });
        assert!(body["errors"]["data"]["choices"]["0"]["name"]["_errors"].is_array());
        assert!(body["errors"]["data"]["choices"]["0"]["value"]["_errors"].is_array());
    }

    #[test]
    fn command_registration_rejects_long_descriptions_and_misordered_options() {
        let cmds = json!([{
            "name": "book", "type": 1, "description": "d".repeat(101),
            "options": [
                {"type": 3, "name": "date", "description": "x", "required": false},
                {"type": 6, "name": "mentor", "description": "x", "required": true}
            ]
        }, {"name": "Book a session", "type": 2, "description": ""}]);
        let body = errors_of(|e| check_commands(&cmds, e));
        assert!(body["errors"]["0"]["description"]["_errors"].is_array());
        assert!(body["errors"]["0"]["options"]["1"]["required"]["_errors"].is_array());
        assert!(body["errors"].get("1").is_none());
    }
}
