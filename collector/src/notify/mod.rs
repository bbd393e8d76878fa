//! Alerts that reach people: the fleet's probe alerts ([`crate::alerts`]) and the week's site
//! alerts ([`week_rules`]) delivered to webhooks — a generic JSON receiver and the group-chat
//! robots of WeCom, DingTalk and Feishu ([`message`]) — with one message when a problem starts
//! and one when it ends ([`tracker`]), per-webhook routing by rule, carrier and site, a quiet
//! period, and an optional daily digest.
//!
//! `serve` runs one [`run`] task when `[[alerts.webhook]]` is configured; of several collectors
//! on one PostgreSQL database, only the one holding the lead sends ([`crate::store::Leadership`]),
//! and another takes over when it stops. It checks every
//! `check_every`, and hands messages to one sender task per webhook through a bounded queue:
//! a slow or failing receiver is retried with backoff in its own task and never holds up ingest
//! or the other webhooks (a full queue drops the message, with a warning).

pub mod message;
pub mod tracker;
pub mod week_rules;

use crate::config::CollectorConfig;
use crate::report::html::{carrier_name, site_name};
use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use message::{Format, Message};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracker::{Event, Notice, Tracker};

/// One `[[alerts.webhook]]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// A name for logs.
    pub name: String,
    /// The receiver's format.
    pub format: Format,
    /// Where to POST.
    pub url: String,
    /// The robot's signing secret (DingTalk, Feishu), when it requires one.
    pub secret: Option<String>,
    /// Only these rules; empty for all.
    pub rules: Vec<String>,
    /// Only these carriers' alerts (and alerts about no carrier); empty for all.
    pub carriers: Vec<String>,
    /// Only these sites; empty for all.
    pub sites: Vec<String>,
    /// Whether it gets the daily digest.
    pub digest: bool,
}

impl Webhook {
    /// Whether this webhook wants to hear of `n`.
    pub fn wants(&self, n: &Notice) -> bool {
        (self.rules.is_empty() || self.rules.contains(&n.rule))
            && (self.sites.is_empty() || self.sites.contains(&n.site_id))
            && (self.carriers.is_empty()
                || n.carrier.as_ref().is_none_or(|c| self.carriers.contains(c)))
    }
}

/// `[alerts]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// How often the rules are checked.
    pub check_every: Duration,
    /// A problem back within this long of its end is not announced again.
    pub quiet_period: Duration,
    /// When the daily digest goes out, the county's wall-clock time; `None` for none.
    pub digest_at: Option<NaiveTime>,
    /// Where messages go.
    pub webhooks: Vec<Webhook>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(60),
            quiet_period: Duration::from_secs(30 * 60),
            digest_at: None,
            webhooks: Vec::new(),
        }
    }
}

/// Every rule a webhook may name.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    fathom_shared::api::ALERT_KINDS
        .into_iter()
        .chain(week_rules::WEEK_RULES)
}

/// The problems the collector sees at `now`: each registered probe's alerts (revoked probes
/// left out) and the current week's site alerts.
async fn current_notices(
    store: &Store,
    config: &CollectorConfig,
    budgets: &crate::budget::ResultBudgets,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>, StoreError> {
    let fleet = crate::alerts::fleet_view(
        crate::alerts::mark_over_budget(store.fleet().await?, |p| budgets.refused_at_ms(p)),
        now,
    );
    let mut out = Vec::new();
    for p in fleet.probes.iter().filter(|p| !p.revoked) {
        for a in &p.alerts {
            out.push(Notice::new(
                &a.kind,
                &p.site_id,
                Some(&p.probe_id),
                a.carrier.map(fathom_shared::Carrier::id),
                a.message.clone(),
            ));
        }
    }
    let week = fathom_shared::IsoWeek::containing(now, config.timezone);
    let this = crate::week::compute_week(store, config, week).await?;
    let previous = crate::week::compute_week(store, config, week.previous()).await?;
    out.extend(week_rules::week_notices(&this, Some(&previous), config));
    Ok(out)
}

/// The message of an event.
pub fn event_message(event: &Event, config: &CollectorConfig, now: DateTime<Utc>) -> Message {
    let (kind, tag, n) = match event {
        Event::Started(n) => ("started", "【告警】", n),
        Event::Ended(n) => ("ended", "【恢复】", n),
    };
    let site = site_name(config, &n.site_id);
    let who = match (&n.probe_id, &n.carrier) {
        (Some(p), _) => format!(" · 探针 {p}"),
        (None, Some(c)) => format!(" · {}", carrier_name(c)),
        (None, None) => String::new(),
    };
    // In a province the county is the site's, not the province's.
    let county = n
        .site_id
        .parse()
        .ok()
        .and_then(|id| config.county_of_site(&id))
        .map_or_else(|| config.county_name.clone(), |c| c.name.clone());
    let title = format!("{tag}{county} · {site}{who}");
    let text = match event {
        Event::Started(_) => n.text.clone(),
        Event::Ended(_) => format!("已恢复 resolved：{}", n.text),
    };
    Message {
        event: kind,
        rule: n.rule.clone(),
        county,
        site: (n.site_id.clone(), site),
        probe_id: n.probe_id.clone(),
        carrier: n.carrier.clone(),
        title,
        text,
        at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// The daily digest for one webhook: what is still wrong now.
pub fn digest_message<'a>(
    active: impl Iterator<Item = &'a Notice>,
    config: &CollectorConfig,
    now: DateTime<Utc>,
) -> Message {
    let mut lines: Vec<String> = active
        .map(|n| {
            let probe = n
                .probe_id
                .as_ref()
                .map_or_else(String::new, |p| format!(" · 探针 {p}"));
            format!("- {}{probe}：{}", site_name(config, &n.site_id), n.text)
        })
        .collect();
    lines.sort();
    let day = now.with_timezone(&config.timezone).format("%Y-%m-%d");
    let text = if lines.is_empty() {
        "当前无告警 no active alerts".to_owned()
    } else {
        format!(
            "当前告警 {} 条 active alerts：\n{}",
            lines.len(),
            lines.join("\n")
        )
    };
    Message {
        event: "digest",
        rule: String::new(),
        county: config.county_name.clone(),
        site: (String::new(), String::new()),
        probe_id: None,
        carrier: None,
        title: format!("【每日汇总】{} {day}", config.county_name),
        text,
        at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// Whether the digest is due at local time `now` for digests at `at`, the last sent on `last`.
pub fn digest_due(now: NaiveDateTime, at: NaiveTime, last: Option<NaiveDate>) -> bool {
    now.time() >= at && last != Some(now.date())
}

/// Messages a webhook's queue holds before new ones are dropped.
const QUEUE: usize = 256;
/// Delivery attempts per message.
const ATTEMPTS: u32 = 8;
/// The first retry's wait; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Checks the rules every `check_every` and sends what changed until `shutdown`.
pub async fn run(
    store: Store,
    config: Arc<CollectorConfig>,
    budgets: Arc<crate::budget::ResultBudgets>,
    shutdown: CancellationToken,
) {
    let alerts = &config.alerts;
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Cannot make the webhook client; alerts will not be sent.");
            return;
        }
    };
    let queues: Vec<(Webhook, tokio::sync::mpsc::Sender<Message>)> = alerts
        .webhooks
        .iter()
        .map(|w| {
            let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
            tokio::spawn(deliver(w.clone(), rx, client.clone(), shutdown.clone()));
            (w.clone(), tx)
        })
        .collect();
    let quiet_ms = i64::try_from(alerts.quiet_period.as_millis()).unwrap_or(i64::MAX);
    let mut tracker = Tracker::new(quiet_ms);
    let mut last_digest: Option<NaiveDate> = None;
    let mut ticker = tokio::time::interval(alerts.check_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut lead: Option<crate::store::Leadership> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        // One collector of those sharing the database sends: the others stand by.
        if let Some(l) = lead.as_mut()
            && !l.holds().await
        {
            tracing::warn!("Lost the lead of the alert messages; another collector may take it.");
            lead = None;
        }
        if lead.is_none() {
            match store.try_lead("alerts").await {
                Ok(Some(l)) => {
                    tracing::info!("This collector sends the alert messages.");
                    lead = Some(l);
                    // What another collector announced is unknown here: start afresh.
                    tracker = Tracker::new(quiet_ms);
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot take the lead of the alert messages.");
                    continue;
                }
            }
        }
        let now = Utc::now();
        match current_notices(&store, &config, &budgets, now).await {
            Ok(notices) => {
                for event in tracker.update(notices, now.timestamp_millis()) {
                    let (Event::Started(n) | Event::Ended(n)) = &event;
                    let m = event_message(&event, &config, now);
                    for (w, tx) in queues.iter().filter(|(w, _)| w.wants(n)) {
                        enqueue(w, tx, m.clone());
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "Cannot check the alert rules."),
        }
        if let Some(at) = alerts.digest_at {
            let local = now.with_timezone(&config.timezone).naive_local();
            if digest_due(local, at, last_digest) {
                last_digest = Some(local.date());
                for (w, tx) in queues.iter().filter(|(w, _)| w.digest) {
                    let m = digest_message(tracker.active().filter(|n| w.wants(n)), &config, now);
                    enqueue(w, tx, m);
                }
            }
        }
    }
}

fn enqueue(w: &Webhook, tx: &tokio::sync::mpsc::Sender<Message>, m: Message) {
    if tx.try_send(m).is_err() {
        tracing::warn!(webhook = %w.name, "The webhook's queue is full; an alert message is dropped.");
    }
}

/// Sends one webhook's messages in order, each retried with backoff.
async fn deliver(
    w: Webhook,
    mut rx: tokio::sync::mpsc::Receiver<Message>,
    client: reqwest::Client,
    shutdown: CancellationToken,
) {
    while let Some(m) = tokio::select! {
        () = shutdown.cancelled() => None,
        m = rx.recv() => m,
    } {
        let mut wait = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let (url, body) = message::request(
                w.format,
                &w.url,
                &m,
                w.secret.as_deref(),
                Utc::now().timestamp_millis(),
            );
            let outcome = match client.post(&url).json(&body).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    if message::accepted(w.format, status, &text) {
                        Ok(())
                    } else {
                        Err(format!(
                            "status {status}: {}",
                            text.chars().take(200).collect::<String>()
                        ))
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(()) => {
                    tracing::info!(webhook = %w.name, event = m.event, rule = %m.rule, "Alert sent.");
                    break;
                }
                Err(why) if attempt == ATTEMPTS => {
                    tracing::error!(webhook = %w.name, %why, "Alert not delivered after {ATTEMPTS} attempts; dropped.");
                }
                Err(why) => {
                    tracing::warn!(webhook = %w.name, %why, attempt, "Alert not delivered; retrying.");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook() -> Webhook {
        Webhook {
            name: "w".into(),
            format: Format::Json,
            url: "http://127.0.0.1/".into(),
            secret: None,
            rules: Vec::new(),
            carriers: Vec::new(),
            sites: Vec::new(),
            digest: true,
        }
    }

    #[test]
    fn a_webhook_hears_only_of_its_rules_carriers_and_sites() {
        let modem = Notice::new("modem_missing", "h", Some("p"), Some("cu"), String::new());
        let silent = Notice::new("silent", "h", Some("p"), None, String::new());
        let cmcc_only = Webhook {
            carriers: vec!["cmcc".into()],
            ..webhook()
        };
        assert!(!cmcc_only.wants(&modem), "another carrier's modem");
        assert!(
            cmcc_only.wants(&silent),
            "a probe alert concerns every carrier"
        );
        let silent_only = Webhook {
            rules: vec!["silent".into()],
            ..webhook()
        };
        assert!(silent_only.wants(&silent) && !silent_only.wants(&modem));
        let elsewhere = Webhook {
            sites: vec!["park".into()],
            ..webhook()
        };
        assert!(!elsewhere.wants(&silent));
        assert!(webhook().wants(&modem));
    }

    #[test]
    fn the_digest_goes_once_a_day_after_its_time() {
        let at = NaiveTime::from_hms_opt(8, 30, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let t = |h, m| day.and_hms_opt(h, m, 0).unwrap();
        assert!(!digest_due(t(8, 29), at, None));
        assert!(digest_due(t(8, 30), at, None));
        assert!(!digest_due(t(9, 0), at, Some(day)));
        assert!(digest_due(
            t(8, 31).checked_add_days(chrono::Days::new(1)).unwrap(),
            at,
            Some(day)
        ));
    }

    #[test]
    fn messages_name_the_county_the_site_and_the_probe_in_chinese() {
        let config = CollectorConfig::from_toml(
            include_str!("../../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::env::temp_dir(),
        )
        .unwrap();
        let n = Notice::new(
            "silent",
            "county-hospital",
            Some("hosp-01"),
            None,
            "已静默 130 分钟".into(),
        );
        let now = DateTime::parse_from_rfc3339("2026-12-05T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = event_message(&Event::Started(n.clone()), &config, now);
        assert_eq!(m.title, "【告警】沂源县 · 沂源县人民医院 · 探针 hosp-01");
        let m = event_message(&Event::Ended(n.clone()), &config, now);
        assert!(m.title.starts_with("【恢复】") && m.text.starts_with("已恢复 resolved：已静默"));
        let d = digest_message([&n].into_iter(), &config, now);
        assert_eq!(d.title, "【每日汇总】沂源县 2026-12-05");
        assert!(
            d.text.contains("沂源县人民医院 · 探针 hosp-01：已静默"),
            "{}",
            d.text
        );
        assert_eq!(
            digest_message(std::iter::empty(), &config, now).text,
            "当前无告警 no active alerts"
        );
    }
}
