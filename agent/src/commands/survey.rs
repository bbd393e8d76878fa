//! `fathom-agent survey`: the I/O around [`crate::survey`]: the terminal (raw mode, alternate
//! screen, restored on every exit), a key reader, one sampling task per modem (every second),
//! speed tests through the scheduler's metered test, marks kept on disk and uploaded.

use crate::config::AgentConfig;
use crate::radio::Radio;
use crate::scheduler::{Metered, Probe};
use crate::spool::Spool;
use crate::survey::marks::{self, MarkStore};
use crate::survey::state::{Action, Event, Key};
use crate::survey::{Lang, SurveyState, render};
use fathom_shared::{Meets5gThresholds, ResultId, SpeedDirection};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{execute, terminal};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often each modem is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The longest speed test of a survey point (or the config's `max_duration`, if shorter): enough
/// for a rate, short enough to wait for.
const SURVEY_TEST: Duration = Duration::from_secs(5);

/// Raw mode and the alternate screen, undone on drop (quit, error or panic alike).
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = Self;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            ratatui::crossterm::cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Best effort: nothing is left to tell if the terminal itself is gone.
        execute!(
            std::io::stdout(),
            terminal::LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show
        )
        .ok();
        terminal::disable_raw_mode().ok();
    }
}

/// What the screen says when the SIM's month is spent and no test runs.
fn budget_spent(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "本月流量预算已用完，未测速",
        Lang::En => "month's data budget spent: no test",
    }
}

/// `fathom-agent survey --config FILE`.
pub(super) async fn survey_command(
    config_path: &Path,
    lang: Lang,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(config_path)?;
    if config.modems.is_empty() {
        return Err(super::usage("the config has no [[modem]] to survey"));
    }
    let radios = crate::scheduler::open_radios(&config)?;
    let spool = Spool::open(&config.spool).await?;
    let store = MarkStore::beside(&config.spool);
    let client = crate::trust::apply(
        reqwest::Client::builder().connect_timeout(Duration::from_secs(10)),
        &crate::scheduler::collector_trust(&config)?,
    )?
    .build()?;
    let carriers: Vec<_> = config.modems.iter().map(|m| m.carrier).collect();
    let mut state = SurveyState::new(
        lang,
        config.site_id.as_str(),
        &carriers,
        Meets5gThresholds::default(),
    );
    state.pending_upload = store.pending()?.len();
    let probe = Probe::new(config.clone(), spool.clone());
    probe.restore_settings().await;

    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let stop = shutdown.child_token();
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    terminal.clear()?;
    let keys_done = Arc::new(AtomicBool::new(false));
    let key_thread = spawn_key_reader(tx.clone(), keys_done.clone());
    for (i, radio) in radios.into_iter().enumerate() {
        tokio::spawn(sample_every_second(i, radio, tx.clone(), stop.clone()));
    }
    // Marks left by an earlier run go first.
    let uploading = Arc::new(tokio::sync::Mutex::new(()));
    spawn_upload(&client, &config, &store, &uploading, &tx);

    loop {
        terminal.draw(|f| render::draw(f, &state))?;
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            e = rx.recv() => match e { Some(e) => e, None => break },
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        match state.apply(event, now_ms, ResultId::new) {
            Action::None => {}
            Action::Quit => break,
            Action::SpeedTest(i) => {
                let modem = config.modems[i].clone();
                let link = Radio::open(modem.carrier, &modem.backend)
                    .ok()
                    .and_then(|r| r.link_mbps());
                let rat = state.modems[i].latest().map(|r| r.rat);
                let (probe, tx, stop) = (probe.clone(), tx.clone(), stop.clone());
                let longest = SURVEY_TEST.min(config.max_duration);
                let spent = budget_spent(lang);
                // Straight into the state: this loop is the channel's only reader.
                state.apply(Event::SpeedStarted(i), now_ms, ResultId::new);
                tokio::spawn(async move {
                    let event = match probe
                        .metered_speed_test(&modem, link, SpeedDirection::Download, longest, &stop)
                        .await
                    {
                        Ok(Metered::Done(mut test)) => {
                            test.rat = test.rat.or(rat);
                            Event::SpeedFinished(i, *test)
                        }
                        Ok(Metered::OverBudget) => Event::SpeedRefused(i, spent.to_owned()),
                        Ok(Metered::Abandoned) => return,
                        Err(e) => Event::SpeedRefused(i, e.to_string()),
                    };
                    tx.send(event).await.ok();
                });
            }
            Action::Keep(mark) => {
                // On disk before anything else: a mark the screen lists is never lost.
                let kept = {
                    let store = store.clone();
                    let mark = (*mark).clone();
                    tokio::task::spawn_blocking(move || store.keep(&mark)).await?
                };
                match kept {
                    Ok(()) => {
                        tracing::info!(id = %mark.id, label = %mark.label, "Survey mark kept.");
                        spawn_upload(&client, &config, &store, &uploading, &tx);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "A survey mark could not be written.");
                        state.upload_error = Some(e.to_string());
                    }
                }
            }
        }
    }
    stop.cancel();
    keys_done.store(true, Ordering::Relaxed);
    drop(terminal);
    drop(guard);
    // A reader blocked on a full channel is let go; an idle one notices within one poll.
    drop(rx);
    key_thread.join().ok();
    spool.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Reads the terminal's key events on a thread of its own (crossterm's reads block) and sends
/// them as [`Event::Key`], until `done`.
fn spawn_key_reader(tx: mpsc::Sender<Event>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let Ok(event::Event::Key(k)) = event::read() else {
                continue;
            };
            if k.kind == KeyEventKind::Release {
                continue;
            }
            let key = match k.code {
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Interrupt,
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                KeyCode::Backspace => Key::Backspace,
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                _ => continue,
            };
            if tx.blocking_send(Event::Key(key)).is_err() {
                return;
            }
        }
    })
}

/// Reads `radio` every second and sends each reading, until `stop`.
async fn sample_every_second(
    modem: usize,
    mut radio: Radio,
    tx: mpsc::Sender<Event>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let reading = tokio::select! {
            () = stop.cancelled() => return,
            r = radio.sample() => r,
        };
        if tx.send(Event::Reading { modem, reading }).await.is_err() {
            return;
        }
    }
}

/// Sends the kept marks in the background (one upload at a time), then tells the screen what
/// is left.
fn spawn_upload(
    client: &reqwest::Client,
    config: &AgentConfig,
    store: &MarkStore,
    uploading: &Arc<tokio::sync::Mutex<()>>,
    tx: &mpsc::Sender<Event>,
) {
    let (client, collector, token, store, uploading, tx) = (
        client.clone(),
        config.collector.clone(),
        config.token.clone(),
        store.clone(),
        uploading.clone(),
        tx.clone(),
    );
    tokio::spawn(async move {
        let _one = uploading.lock().await;
        let error = marks::upload(&client, &collector, &token, &store)
            .await
            .err()
            .map(|e| {
                tracing::warn!(error = %e, "Survey marks not uploaded; they stay on disk.");
                e.to_string()
            });
        let pending = store.pending().map_or(0, |p| p.len());
        tx.send(Event::Uploaded { pending, error }).await.ok();
    });
}
