//! Draws a [`SurveyState`] with ratatui: no I/O of its own, so it is tested on a `TestBackend`.
//! Laid out for an 80×24 terminal (a Pi over SSH), in Chinese or English: a title line, then
//! per modem one line of values and one sparkline of the last minute's RSRP, the marks made,
//! and the keys (or the label prompt) at the bottom.

use super::state::{Lang, Speed, SurveyState};
use fathom_shared::{Carrier, Rat};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

/// The screen's words in one language.
struct Words {
    title: &'static str,
    site: &'static str,
    pending: &'static str,
    no_reading: &'static str,
    meets: &'static str,
    misses: &'static str,
    speed_running: &'static str,
    speed_failed: &'static str,
    last_minute: &'static str,
    marks: &'static str,
    no_marks: &'static str,
    keys: &'static str,
    prompt: &'static str,
    prompt_keys: &'static str,
    upload_failed: &'static str,
    of: &'static str,
}

const ZH: Words = Words {
    title: "Fathom 选点勘测",
    site: "站点",
    pending: "待上传",
    no_reading: "暂无读数",
    meets: "达到5G标准",
    misses: "未达5G标准",
    speed_running: "测速中…",
    speed_failed: "测速失败",
    last_minute: "近1分钟RSRP",
    marks: "已标记点位",
    no_marks: "尚未标记点位",
    keys: "↑↓ 选择  s 测速  m 标记点位  q 退出",
    prompt: "点位名称：",
    prompt_keys: "Enter 保存  Esc 取消",
    upload_failed: "上传失败，稍后重试",
    of: "家达5G",
};

const EN: Words = Words {
    title: "Fathom survey",
    site: "site",
    pending: "to upload",
    no_reading: "no reading yet",
    meets: "meets 5G",
    misses: "not 5G",
    speed_running: "testing…",
    speed_failed: "test failed",
    last_minute: "RSRP 1 min",
    marks: "Marked points",
    no_marks: "no point marked yet",
    keys: "↑↓ select  s speed test  m mark point  q quit",
    prompt: "Point name: ",
    prompt_keys: "Enter save  Esc cancel",
    upload_failed: "upload failed, will retry",
    of: "on 5G",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// A carrier's name on screen.
fn carrier_name(carrier: Carrier, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => carrier.name_zh(),
        Lang::En => carrier.name_en(),
    }
}

/// A network type as a technician says it.
pub fn network_name(rat: Rat, lang: Lang) -> &'static str {
    match (rat, lang) {
        (Rat::NrSa, _) => "NR SA",
        (Rat::NrNsa, _) => "NR NSA",
        (Rat::Lte, _) => "LTE",
        (Rat::Wcdma, _) => "WCDMA",
        (Rat::Gsm, _) => "GSM",
        (Rat::None, Lang::Zh) => "无网络",
        (Rat::None, Lang::En) => "none",
    }
}

/// The sparkline's height of an RSRP: dBm above −140 (the scale's floor); no bar without a value
/// (an empty column, not a made-up floor).
fn bar(rsrp: Option<f64>) -> Option<u64> {
    rsrp.map(|v| (v + 140.0).clamp(0.0, 96.0).round() as u64)
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, state: &SurveyState) {
    let w = words(state.lang);
    let area = frame.area();
    let marks_shown = 3u16;
    let mut rows = vec![Constraint::Length(1)];
    for _ in &state.modems {
        rows.push(Constraint::Length(2));
    }
    rows.push(Constraint::Min(0));
    rows.push(Constraint::Length(1 + marks_shown));
    rows.push(Constraint::Length(1));
    let chunks = Layout::vertical(rows).split(area);
    let title = Line::from(vec![
        Span::styled(w.title, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "  {} {}  {} {}",
            w.site, state.site, w.pending, state.pending_upload
        )),
        Span::styled(
            state
                .upload_error
                .as_ref()
                .map_or_else(String::new, |_| format!("  {}", w.upload_failed)),
            Style::default().fg(Color::Red),
        ),
    ]);
    frame.render_widget(Paragraph::new(title), chunks[0]);
    for (i, _) in state.modems.iter().enumerate() {
        draw_modem(frame, state, i, chunks[1 + i]);
    }
    let n = state.modems.len();
    let marks_area = chunks[n + 2];
    let mut lines = vec![Line::styled(
        w.marks,
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if state.marks.is_empty() {
        lines.push(Line::raw(format!("  {}", w.no_marks)));
    }
    for m in state.marks.iter().rev().take(marks_shown as usize).rev() {
        lines.push(Line::raw(format!(
            "  {}  {}  {}/{} {}",
            m.at.datetime()
                .with_timezone(&chrono::Local)
                .format("%H:%M:%S"),
            m.label,
            m.meeting_5g,
            m.carriers,
            w.of
        )));
    }
    frame.render_widget(Paragraph::new(lines), marks_area);
    let bottom = match &state.prompt {
        Some(label) => Line::from(vec![
            Span::styled(w.prompt, Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(format!("{label}█  ")),
            Span::styled(w.prompt_keys, Style::default().fg(Color::DarkGray)),
        ]),
        None => Line::styled(w.keys, Style::default().fg(Color::DarkGray)),
    };
    frame.render_widget(Paragraph::new(bottom), chunks[n + 3]);
}

/// One modem: its values on one line, the last minute's RSRP below.
fn draw_modem(frame: &mut Frame<'_>, state: &SurveyState, i: usize, area: Rect) {
    let w = words(state.lang);
    let m = &state.modems[i];
    let [top, spark] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let pointer = if i == state.selected { "▶ " } else { "  " };
    let mut spans = vec![
        Span::raw(pointer),
        Span::styled(
            format!("{:<8}", carrier_name(m.carrier, state.lang)),
            Style::default().add_modifier(Modifier::BOLD),
        ),
    ];
    match m.latest() {
        None => spans.push(Span::raw(format!(" {}", w.no_reading))),
        Some(r) => {
            let (rsrp, sinr) = if r.rat.is_nr() {
                ("SS-RSRP", "SINR")
            } else {
                ("RSRP", "SINR")
            };
            let num = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"));
            spans.push(Span::raw(format!(
                " {:<6}",
                network_name(r.rat, state.lang)
            )));
            spans.push(Span::raw(format!(
                " {rsrp} {:>4} dBm {sinr} {:>3} dB ",
                num(r.rsrp_dbm),
                num(r.sinr_db)
            )));
            let ok = state.meets_5g(i);
            spans.push(Span::styled(
                if ok { w.meets } else { w.misses },
                Style::default()
                    .fg(if ok { Color::Green } else { Color::Red })
                    .add_modifier(Modifier::BOLD),
            ));
            if r.rat == Rat::None
                && let Some(why) = &r.reason
            {
                spans.push(Span::raw(format!(" ({why})")));
            }
        }
    }
    let speed = match &m.speed {
        Speed::None => String::new(),
        Speed::Running => format!("  {}", w.speed_running),
        Speed::Done(t) => t.download_mbps.map_or_else(
            || format!("  {}", w.speed_failed),
            |v| format!("  {v:.1} Mbit/s"),
        ),
        Speed::Refused(why) => format!("  {why}"),
    };
    spans.push(Span::styled(speed, Style::default().fg(Color::Cyan)));
    frame.render_widget(Paragraph::new(Line::from(spans)), top);
    let [label, line] =
        Layout::horizontal([Constraint::Length(16), Constraint::Min(0)]).areas(spark);
    frame.render_widget(
        Paragraph::new(format!("  {}", w.last_minute)).style(Style::default().fg(Color::DarkGray)),
        label,
    );
    let data: Vec<Option<u64>> = m.readings.iter().map(|r| bar(r.rsrp_dbm)).collect();
    frame.render_widget(
        Sparkline::default()
            .data(data)
            .max(96)
            .style(Style::default().fg(if state.meets_5g(i) {
                Color::Green
            } else {
                Color::Yellow
            })),
        line,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::state::tests::state;
    use crate::survey::state::{Event, Key};
    use fathom_shared::ResultId;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The screen's text, row by row, without spaces (a wide character's second cell is blank).
    fn screen(state: &SurveyState) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| draw(f, state)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..24u16)
            .map(|y| {
                (0..80u16)
                    .map(|x| buffer[(x, y)].symbol().to_owned())
                    .collect::<String>()
                    .replace(' ', "")
            })
            .collect()
    }

    fn has(rows: &[String], text: &str) -> bool {
        let text = text.replace(' ', "");
        rows.iter().any(|r| r.contains(&text))
    }

    #[test]
    fn the_chinese_screen_shows_each_carrier_its_network_and_its_verdict_at_80x24() {
        let rows = screen(&state(Lang::Zh));
        for want in [
            "Fathom 选点勘测",
            "▶ 中国移动 NR SA SS-RSRP -88 dBm SINR 15 dB 达到5G标准",
            "中国联通 NR NSA SS-RSRP -97 dBm SINR 6 dB 达到5G标准",
            "中国电信 LTE RSRP -101 dBm SINR 3 dB 未达5G标准",
            "近1分钟RSRP",
            "尚未标记点位",
            "s 测速",
            "q 退出",
        ] {
            assert!(has(&rows, want), "{want:?} not on\n{}", rows.join("\n"));
        }
    }

    #[test]
    fn the_english_screen_says_the_same_in_english() {
        let rows = screen(&state(Lang::En));
        for want in [
            "Fathom survey",
            "China Mobile NR SA",
            "China Unicom NR NSA",
            "China Telecom LTE RSRP -101 dBm SINR 3 dB not 5G",
            "meets 5G",
            "m mark point",
        ] {
            assert!(has(&rows, want), "{want:?} not on\n{}", rows.join("\n"));
        }
        assert!(!has(&rows, "中国移动"), "{}", rows.join("\n"));
    }

    #[test]
    fn the_prompt_marks_and_speed_show_on_screen() {
        let mut s = state(Lang::Zh);
        s.apply(Event::SpeedStarted(2), 0, ResultId::new);
        s.apply(Event::Key(Key::Char('m')), 0, ResultId::new);
        for c in "A 大厅西窗".chars() {
            s.apply(Event::Key(Key::Char(c)), 0, ResultId::new);
        }
        let rows = screen(&s);
        assert!(has(&rows, "点位名称：A 大厅西窗█"), "{}", rows.join("\n"));
        assert!(has(&rows, "测速中…"), "{}", rows.join("\n"));
        s.apply(Event::Key(Key::Enter), 1_765_000_000_000, ResultId::new);
        let rows = screen(&s);
        assert!(has(&rows, "A 大厅西窗 2/3 家达5G"), "{}", rows.join("\n"));
        assert!(has(&rows, "待上传 1"), "{}", rows.join("\n"));
    }

    #[test]
    fn a_modem_without_service_says_why_instead_of_numbers() {
        let mut s = state(Lang::En);
        s.apply(
            Event::Reading {
                modem: 1,
                reading: fathom_shared::RadioSample::unavailable("no SIM"),
            },
            0,
            ResultId::new,
        );
        let rows = screen(&s);
        assert!(has(&rows, "China Unicom none"), "{}", rows.join("\n"));
        assert!(has(&rows, "(no SIM)"), "{}", rows.join("\n"));
    }
}
