//! [`Opt`], the option values a user fills in, and turning them into an interaction's
//! `data.options` and `data.resolved` with the checks a Discord client makes.

use serde_json::{Value, json};

use crate::payloads::{self, permissions};
use crate::people::FakeUser;
use crate::state::State;

/// An option value a user fills in.
#[derive(Clone, Debug)]
pub struct Opt {
    name: String,
    value: OptValue,
}

#[derive(Clone, Debug)]
enum OptValue {
    Str(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    User(FakeUser),
    Role(u64),
    Channel(u64),
}

impl Opt {
    /// A string option.
    pub fn str(name: &str, value: &str) -> Self {
        Self::of(name, OptValue::Str(value.to_string()))
    }
    /// An integer option.
    pub fn int(name: &str, value: i64) -> Self {
        Self::of(name, OptValue::Int(value))
    }
    /// A number (float) option.
    pub fn num(name: &str, value: f64) -> Self {
        Self::of(name, OptValue::Num(value))
    }
    /// A boolean option.
    pub fn bool(name: &str, value: bool) -> Self {
        Self::of(name, OptValue::Bool(value))
    }
    /// A user option (sent with `data.resolved.users`, and `members` in a server).
    pub fn user(name: &str, user: &FakeUser) -> Self {
        Self::of(name, OptValue::User(user.clone()))
    }
    /// A role option (sent with `data.resolved.roles`).
    pub fn role(name: &str, role_id: u64) -> Self {
        Self::of(name, OptValue::Role(role_id))
    }
    /// A channel option (sent with `data.resolved.channels`).
    pub fn channel(name: &str, channel_id: u64) -> Self {
        Self::of(name, OptValue::Channel(channel_id))
    }
    fn of(name: &str, value: OptValue) -> Self {
        Opt {
            name: name.to_string(),
            value,
        }
    }
}

/// Builds `data.options` (nested under the subcommand group / subcommand in `parts`) and
/// `data.resolved`, checking everything a Discord client enforces.
pub(crate) fn build_options(
    s: &mut State,
    cmd: &Value,
    parts: &[&str],
    given: &[Opt],
    focused: Option<&str>,
    guild: Option<u64>,
) -> Result<(Value, Value), String> {
    let mut defs: Vec<Value> = cmd["options"].as_array().cloned().unwrap_or_default();
    let mut wrappers: Vec<(u64, String)> = Vec::new();
    for seg in &parts[1..] {
        let def = defs
            .iter()
            .find(|o| o["name"] == *seg && matches!(o["type"].as_u64(), Some(1 | 2)))
            .cloned()
            .ok_or_else(|| format!("no subcommand {seg:?} (has {:?})", names(&defs)))?;
        wrappers.push((def["type"].as_u64().unwrap_or(1), seg.to_string()));
        defs = def["options"].as_array().cloned().unwrap_or_default();
    }
    if defs
        .iter()
        .any(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
    {
        return Err(format!("a subcommand is needed: one of {:?}", names(&defs)));
    }
    let mut out = Vec::new();
    let mut resolved = serde_json::Map::new();
    for opt in given {
        let def = defs
            .iter()
            .find(|d| d["name"] == opt.name.as_str())
            .ok_or_else(|| format!("no option {:?} (has {:?})", opt.name, names(&defs)))?;
        let kind = def["type"].as_u64().unwrap_or(0);
        let is_focused = focused == Some(opt.name.as_str());
        if is_focused {
            if def["autocomplete"] != true {
                return Err(format!("option {:?} has no autocomplete", opt.name));
            }
            let text = match &opt.value {
                OptValue::Str(v) => v.clone(),
                OptValue::Int(v) => v.to_string(),
                OptValue::Num(v) => v.to_string(),
                other => return Err(format!("cannot type {other:?} into an autocomplete")),
            };
            out.push(json!({"type": kind, "name": opt.name, "value": text, "focused": true}));
            continue;
        }
        let value = option_value(s, def, &opt.value, guild, &mut resolved)
            .map_err(|e| format!("option {:?}: {e}", opt.name))?;
        out.push(json!({"type": kind, "name": opt.name, "value": value}));
    }
    if let Some(f) = focused {
        if !given.iter().any(|o| o.name == f) {
            return Err(format!(
                "the focused option {f:?} must be among the options given"
            ));
        }
    } else {
        for d in &defs {
            let name = d["name"].as_str().unwrap_or_default();
            if d["required"] == true && !given.iter().any(|o| o.name == name) {
                return Err(format!("required option {name:?} is missing"));
            }
        }
    }
    let mut options = Value::Array(out);
    for (kind, name) in wrappers.into_iter().rev() {
        options = json!([{"type": kind, "name": name, "options": options}]);
    }
    Ok((options, Value::Object(resolved)))
}

fn names(defs: &[Value]) -> Vec<String> {
    defs.iter()
        .filter_map(|d| d["name"].as_str().map(str::to_string))
        .collect()
}

fn option_value(
    s: &mut State,
    def: &Value,
    value: &OptValue,
    guild: Option<u64>,
    resolved: &mut serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let kind = def["type"].as_u64().unwrap_or(0);
    let choices = def["choices"].as_array().cloned().unwrap_or_default();
    let check_choice = |v: &Value| -> Result<(), String> {
        if choices.is_empty() || choices.iter().any(|c| c["value"] == *v) {
            Ok(())
        } else {
            let allowed: Vec<&Value> = choices.iter().map(|c| &c["value"]).collect();
            Err(format!("{v} is not one of the choices {allowed:?}"))
        }
    };
    let check_range = |n: f64| -> Result<(), String> {
        let min = def["min_value"].as_f64();
        let max = def["max_value"].as_f64();
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            Err(format!("{n} is outside {min:?}..={max:?}"))
        } else {
            Ok(())
        }
    };
    let mut entry = |key: &str, id: u64, obj: Value| {
        resolved
            .entry(key.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("resolved entries are objects")
            .insert(id.to_string(), obj);
    };
    match (kind, value) {
        (3, OptValue::Str(v)) => {
            let n = v.chars().count() as u64;
            let min = def["min_length"].as_u64().unwrap_or(0);
            let max = def["max_length"].as_u64().unwrap_or(6000);
            if n < min.max(1) || n > max {
                return Err(format!("length {n} is outside {}..={max}", min.max(1)));
            }
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (4, OptValue::Int(v)) => {
            check_range(*v as f64)?;
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (10, OptValue::Num(v)) => {
            check_range(*v)?;
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (10, OptValue::Int(v)) => {
            check_range(*v as f64)?;
            Ok(json!(*v as f64))
        }
        (5, OptValue::Bool(v)) => Ok(json!(v)),
        (6 | 9, OptValue::User(u)) => {
            s.users.entry(u.id).or_insert_with(|| u.clone());
            entry("users", u.id, s.user_json(u.id));
            if let Some(g) = guild {
                s.ensure_member(g, u);
                let m = s.guilds[&g].members[&u.id].clone();
                entry(
                    "members",
                    u.id,
                    payloads::partial_member(&m.roles, m.permissions, &m.joined_at),
                );
            }
            Ok(json!(u.id.to_string()))
        }
        (8 | 9, OptValue::Role(r)) => {
            let g = guild.ok_or("roles exist only in servers")?;
            let name = if *r == g {
                "@everyone".to_string()
            } else {
                s.guilds[&g].roles.get(r).cloned().ok_or_else(|| {
                    format!("role {r} does not exist in this server (use add_role)")
                })?
            };
            entry("roles", *r, payloads::role(*r, &name, 1, 0));
            Ok(json!(r.to_string()))
        }
        (7, OptValue::Channel(c)) => {
            let channel = s
                .channels
                .get(c)
                .ok_or_else(|| format!("unknown channel {c}"))?;
            let obj = match channel.guild_id {
                Some(g) => {
                    json!({"id": c.to_string(), "type": 0, "name": "general", "guild_id": g.to_string(), "permissions": permissions::ALL.to_string(), "parent_id": null, "flags": 0})
                }
                None => {
                    json!({"id": c.to_string(), "type": 1, "permissions": permissions::DM.to_string(), "flags": 0})
                }
            };
            entry("channels", *c, obj);
            Ok(json!(c.to_string()))
        }
        (kind, value) => Err(format!(
            "a Discord client cannot put {value:?} into an option of type {kind}"
        )),
    }
}
