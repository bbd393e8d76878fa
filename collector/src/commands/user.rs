//! `user add|list|remove|passwd|audit`: people's accounts (`crate::access`). Every change is
//! written to the audit log as done by `cli`.

use super::{say, usage};
use crate::access::{password, scope::Role};
use crate::cli::UserCommand;
use crate::config::CollectorConfig;
use crate::store::{AccountRow, AuditRow, Store};
use chrono::{DateTime, Utc};
use fathom_shared::Carrier;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// `user …`.
pub(super) async fn user_command(
    store: &Store,
    config: &CollectorConfig,
    cmd: UserCommand,
) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            county,
            carrier,
            password_stdin,
        } => {
            add(
                store,
                config,
                &name,
                &role,
                &county,
                carrier.as_deref(),
                password_stdin,
            )
            .await
        }
        UserCommand::List => {
            for a in store.accounts().await? {
                say(format_args!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.name,
                    a.role,
                    a.county.as_deref().unwrap_or("-"),
                    a.carrier.as_deref().unwrap_or("-"),
                    time(a.created_at_ms)
                ))?;
            }
            Ok(())
        }
        UserCommand::Remove { name } => {
            if !store.remove_account(&name).await? {
                return Err(usage(format!("no account named {name:?}")));
            }
            audit_cli(store, "user remove", &name).await?;
            say(format_args!("removed {name}"))?;
            Ok(())
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if store.account(&name).await?.is_none() {
                return Err(usage(format!("no account named {name:?}")));
            }
            let phc = new_password(password_stdin)?;
            store.set_password(&name, &phc).await?;
            audit_cli(store, "user passwd", &name).await?;
            say(format_args!(
                "password of {name} changed; its sessions ended"
            ))?;
            Ok(())
        }
        UserCommand::Audit { since } => {
            let since_ms = match since.as_deref() {
                Some(s) => since_ms(s, Utc::now())?,
                None => 0,
            };
            for a in store.audit_since(since_ms).await? {
                say(format_args!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    DateTime::from_timestamp_millis(a.at_ms)
                        .unwrap_or_default()
                        .format("%Y-%m-%dT%H:%M:%SZ"),
                    a.account,
                    a.action,
                    a.target,
                    a.source,
                    a.outcome
                ))?;
            }
            Ok(())
        }
    }
}

fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

async fn audit_cli(store: &Store, action: &str, target: &str) -> anyhow::Result<()> {
    store
        .audit(&AuditRow {
            at_ms: Utc::now().timestamp_millis(),
            account: "cli".to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            source: "cli".to_owned(),
            outcome: "ok".to_owned(),
        })
        .await?;
    Ok(())
}

/// `--since`: an RFC 3339 time, or a duration back from `now`.
fn since_ms(s: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let back = humantime_serde::re::humantime::parse_duration(s).map_err(|_| {
        usage(format!(
            "--since {s:?} is neither an RFC 3339 time (2026-11-23T00:00:00Z) nor a duration (24h)"
        ))
    })?;
    let back = chrono::Duration::from_std(back).unwrap_or(chrono::Duration::MAX);
    Ok(now
        .checked_sub_signed(back)
        .map_or(0, |t| t.timestamp_millis()))
}

/// Whether `name` may be a login name.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// An operator's carrier as people write it: 移动 / 中国移动 / cmcc, ….
fn parse_carrier(s: &str) -> Option<Carrier> {
    let s = s.trim();
    s.parse().ok().or_else(|| {
        Carrier::ALL
            .into_iter()
            .find(|c| c.name_zh() == s || c.name_zh().strip_prefix("中国") == Some(s))
    })
}

async fn add(
    store: &Store,
    config: &CollectorConfig,
    name: &str,
    role: &str,
    counties: &[String],
    carrier: Option<&str>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    if !valid_name(name) {
        return Err(usage(format!(
            "account name {name:?}: use 1–64 ASCII letters, digits, '.', '_', '-', '@'"
        )));
    }
    let role: Role = role.parse().map_err(usage)?;
    let carrier = match (role, carrier) {
        (Role::Operator, Some(c)) => Some(parse_carrier(c).ok_or_else(|| {
            usage(format!(
                "--carrier {c:?}: use 移动, 联通, 电信, 广电 (or cmcc, cu, ct, cbn)"
            ))
        })?),
        (Role::Operator, None) => {
            return Err(usage(
                "an operator account needs --carrier (移动, 联通, 电信 or 广电)",
            ));
        }
        (_, Some(_)) => return Err(usage("--carrier is for operator accounts only")),
        (_, None) => None,
    };
    let counties: Vec<String> = counties
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if counties.iter().any(|c| c.contains(',')) {
        return Err(usage("--county: one county id per flag, without commas"));
    }
    let county = match role {
        Role::Admin if !counties.is_empty() => {
            return Err(usage(
                "an admin account sees every county: leave out --county",
            ));
        }
        Role::Admin => None,
        Role::County | Role::Technician if counties.len() > 1 => {
            return Err(usage(format!(
                "a {role} account belongs to one county: give --county once"
            )));
        }
        _ if counties.is_empty() && config.is_province() => {
            return Err(usage(format!(
                "this province has {} counties: name the account's with --county ({})",
                config.counties.len(),
                super::county_list(config)
            )));
        }
        _ if counties.is_empty() => Some(config.county_id.clone()),
        _ => Some(counties.join(",")),
    };
    if let Some(c) = &county {
        let unknown: Vec<&str> = c
            .split(',')
            .filter(|c| !config.counties.iter().any(|k| k.id == *c))
            .collect();
        if !unknown.is_empty() {
            eprintln!(
                "note: this deployment has no county {}; an account of it sees nothing here (counties: {})",
                unknown.join(", "),
                super::county_list(config)
            );
        }
    }
    if store.account(name).await?.is_some() {
        return Err(usage(format!("an account named {name:?} already exists")));
    }
    let phc = new_password(password_stdin)?;
    let row = AccountRow {
        name: name.to_owned(),
        role: role.id().to_owned(),
        county,
        carrier: carrier.map(|c| c.id().to_owned()),
        password_phc: phc,
        created_at_ms: Utc::now().timestamp_millis(),
    };
    if !store.add_account(&row).await? {
        return Err(usage(format!("an account named {name:?} already exists")));
    }
    audit_cli(store, "user add", &format!("{name} ({role})")).await?;
    say(format_args!("added {name} ({role})"))?;
    Ok(())
}

/// A new password, hashed: from stdin's first line, or asked twice on the terminal.
fn new_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "no terminal to ask the password on: pass --password-stdin and give it on stdin",
            ));
        }
        let first = prompt("密码 Password: ")?;
        let again = prompt("再输一次 Again: ")?;
        if first != again {
            return Err(usage("the two passwords differ"));
        }
        first
    };
    password::hash(&password).map_err(|e| match e {
        password::PasswordError::TooShort => usage(e.to_string()),
        other => other.into(),
    })
}

/// Asks on stderr and reads a line from the terminal without echoing it.
fn prompt(question: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let mut err = std::io::stderr();
    err.write_all(question.as_bytes())?;
    err.flush()?;
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // The echo comes back whatever the read did.
    tcsetattr(&stdin, SetArg::TCSANOW, &saved)?;
    err.write_all(b"\n")?;
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_are_read_as_people_write_them() {
        for (s, c) in [
            ("移动", Carrier::Cmcc),
            ("中国联通", Carrier::Cu),
            ("ct", Carrier::Ct),
            ("广电", Carrier::Cbn),
        ] {
            assert_eq!(parse_carrier(s), Some(c), "{s}");
        }
        assert_eq!(parse_carrier("铁通"), None);
    }

    #[test]
    fn since_takes_a_time_or_a_duration_back() {
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(
            since_ms("24h", now).unwrap(),
            now.timestamp_millis() - 86_400_000
        );
        assert_eq!(
            since_ms("2026-11-23T00:00:00Z", now).unwrap(),
            now.timestamp_millis() - 43_200_000
        );
        assert!(since_ms("yesterday", now).is_err());
        assert!(valid_name("zhang.wei@yiyuan") && !valid_name("张") && !valid_name(""));
    }
}
